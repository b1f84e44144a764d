// perfscope loader: lets any site embed the tracker with one tag,
//   <script src="https://collector/tracker/perfscope.js" data-site="demo" async></script>
// by loading the wasm-bindgen `--target web` build that sits next to this file.
// Optional: data-endpoint, data-max-batch, data-max-age (ms), data-sample-rate (0..1),
// data-route-patterns and data-exclude-api (comma-separated, e.g. "/blog/:slug,/docs/*").
(() => {
  // Only valid while this script first runs, so it is read before anything awaits.
  const script = document.currentScript;
  const count = (value) => {
    const n = Number.parseInt(value, 10);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  };
  const rate = (value) => {
    const n = Number(value);
    return value && n >= 0 && n <= 1 ? n : undefined;
  };
  // Metrics recorded before the wasm has loaded are replayed once it has.
  const early = [];
  const api = Object.assign(window.perfscope || {}, {
    recordMetric: (...args) => early.push(args) > 0,
    getMetrics: () => [],
  });
  window.perfscope = api;
  const load = async () => {
    if (!script || !script.src) throw new Error('perfscope.js must be loaded by a <script src> tag');
    const { site, endpoint, maxBatch, maxAge, sampleRate, routePatterns, excludeApi } = script.dataset;
    if (!site) throw new Error('perfscope.js needs a data-site attribute');
    const mod = await import(new URL('perfscope_tracker.js', script.src).href);
    await mod.default({ module_or_path: new URL('perfscope_tracker_bg.wasm', script.src) });
    mod.start(site, endpoint || new URL(script.src).origin, count(maxBatch), count(maxAge),
      rate(sampleRate), routePatterns, excludeApi);
    Object.assign(api, { recordMetric: mod.recordMetric, getMetrics: mod.getMetrics });
    for (const args of early.splice(0)) mod.recordMetric(...args);
    // Lets pages (and our browser tests) know measuring has begun.
    api.ready = true;
  };
  // A tracker must never break the page that hosts it.
  load().catch((error) => console.warn('perfscope: tracker not started:', error));
})();
