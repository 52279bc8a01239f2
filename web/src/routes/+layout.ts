// The app is a single-page client served as static files by the API server, so nothing renders
// on a server and no route is prerendered; every page is served through the index.html fallback.
export const ssr = false;
export const prerender = false;
