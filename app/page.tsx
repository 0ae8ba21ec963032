import { HomeView } from '@/components/HomeView';

export default function Home() {
  return <HomeView />;
}
