// perfscope loader: lets any site embed the tracker with one tag,
//   <script src="https://collector/tracker/perfscope.js" data-site="demo" async></script>
// by loading the wasm-bindgen `--target web` build that sits next to this file.
(() => {
  // Only valid while this script first runs, so it is read before anything awaits.
  const script = document.currentScript;
  const optionalCount = (value) => {
    const n = Number.parseInt(value, 10);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  };
  const load = async () => {
    if (!script || !script.src) throw new Error('perfscope.js must be loaded by a <script src> tag');
    const { site, endpoint, maxBatch, maxAge } = script.dataset;
    if (!site) throw new Error('perfscope.js needs a data-site attribute');
    const mod = await import(new URL('perfscope_tracker.js', script.src).href);
    await mod.default({ module_or_path: new URL('perfscope_tracker_bg.wasm', script.src) });
    mod.start(site, endpoint || new URL(script.src).origin, optionalCount(maxBatch), optionalCount(maxAge));
    // Lets pages (and our browser tests) know measuring has begun.
    window.perfscope = Object.assign(window.perfscope || {}, { ready: true });
  };
  // A tracker must never break the page that hosts it.
  load().catch((error) => console.warn('perfscope: tracker not started:', error));
})();
