import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    // `npm run dev:web` serves the UI with hot reload against a server started with `npm run dev`.
    proxy: { '/api': 'http://127.0.0.1:3000' },
  },
  build: { reportCompressedSize: false },
});
