import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    // A single-page app: the Hono server serves build/ and falls back to index.html.
    adapter: adapter({ fallback: 'index.html', strict: true }),
    // Names the web app shares with the ML core (strategies, hyper-parameters): one definition.
    alias: { $ml: '../ml' },
    csp: {
      mode: 'hash',
      directives: { 'script-src': ['self'] },
    },
  },
};

export default config;
