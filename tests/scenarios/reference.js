// The reference side of the parity suite: every metric web-vitals (attribution build)
// reports on this page goes to the test server, tagged with the document it came from.
(() => {
  const fields = ['load', 'name', 'value', 'navigationType', 'attribution', 'target', 'url',
    'timeToFirstByte', 'resourceLoadDelay', 'resourceLoadDuration', 'elementRenderDelay',
    'interactionTarget', 'interactionType', 'inputDelay', 'processingDuration',
    'presentationDelay', 'largestShiftTarget', 'largestShiftTime', 'largestShiftValue'];
  const load = performance.timeOrigin;
  const post = (metric) => navigator.sendBeacon('/reference',
    JSON.stringify({ ...metric, load }, fields));
  // While visible, all work waits for a later task: after a back/forward-cache restore
  // the tracker measures "time to the next frame" in the same frame, after this callback.
  // A reported metric keeps its value until the page is hidden, when it is sent at once.
  const send = (metric) => {
    if (document.visibilityState === 'hidden') post(metric);
    else setTimeout(() => post(metric));
  };
  for (const on of ['onLCP', 'onFCP', 'onTTFB', 'onCLS', 'onINP']) webVitals[on](send);
})();
