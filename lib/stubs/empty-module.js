// Stands in for optional dependencies that AgentMint never calls (see next.config.mjs).
export default {};
