// The reference side of the parity suite: every metric web-vitals (attribution build)
// reports on this page goes to the test server, tagged with the document it came from.
(() => {
  const fields = ['load', 'name', 'value', 'navigationType', 'attribution', 'target', 'url',
    'timeToFirstByte', 'resourceLoadDelay', 'resourceLoadDuration', 'elementRenderDelay',
    'interactionTarget', 'interactionType', 'inputDelay', 'processingDuration',
    'presentationDelay', 'largestShiftTarget', 'largestShiftTime', 'largestShiftValue'];
  const send = (metric) => {
    const body = JSON.stringify({ ...metric, load: performance.timeOrigin }, fields);
    const post = () => navigator.sendBeacon('/reference', body);
    // Sent after the current frame while the page is visible: the tracker measures
    // "time to the next frame" in the same frame, after these callbacks.
    if (document.visibilityState === 'hidden') post();
    else setTimeout(post);
  };
  for (const on of ['onLCP', 'onFCP', 'onTTFB', 'onCLS', 'onINP']) webVitals[on](send);
})();
