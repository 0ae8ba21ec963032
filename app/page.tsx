export default function Home() {
  return (
    <main>
      <h1>AgentMint</h1>
      <p>Chat with an agent, sign one USDC authorization, and let your agent wallet mint in paced batches.</p>
    </main>
  );
}
