//! The boundary between the page's own calls (`fetch`, XHR, History) and the tracker's
//! code that watches them. The page's call runs in a few lines of JavaScript, and the
//! tracker's part runs inside a `try` there, so nothing it does, not even a wasm trap
//! after a panic (the build uses `panic = "abort"`), can reach the page.
//!
//! Methods are replaced by a `Proxy` of the original, which keeps the exact argument
//! list, the receiver, and the original's `name`, `length` and native `toString()`.

use crate::browser::property;
use js_sys::{Array, Function, Object, Proxy, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen(inline_js = "
export function guardAfter(observe) {
  return { apply(target, receiver, args) {
    const started = performance.now();
    const result = Reflect.apply(target, receiver, args);
    try { observe(result, receiver, args, started); } catch (_) {}
    return result;
  } };
}
export function guardBefore(observe) {
  return { apply(target, receiver, args) {
    try { observe(receiver, args); } catch (_) {}
    return Reflect.apply(target, receiver, args);
  } };
}
")]
extern "C" {
    #[wasm_bindgen(js_name = guardAfter)]
    fn guard_after(observe: &Function) -> Object;
    #[wasm_bindgen(js_name = guardBefore)]
    fn guard_before(observe: &Function) -> Object;
}

fn replace(owner: &JsValue, name: &str, handler: &Object) -> Option<()> {
    let original: Function = property(owner, name)?.dyn_into().ok()?;
    let proxy = Proxy::new(&original, handler);
    Reflect::set(owner, &name.into(), &proxy).ok()?;
    Some(())
}

/// `owner[name]` runs as before; then `observe(result, receiver, arguments, started_ms)`
/// sees it, `started_ms` being `performance.now()` just before the call.
pub(crate) fn observe_after(
    owner: &JsValue,
    name: &str,
    observe: impl Fn(JsValue, JsValue, Array, f64) + 'static,
) -> Option<()> {
    let observe: Function = Closure::<dyn Fn(JsValue, JsValue, Array, f64)>::new(observe)
        .into_js_value()
        .unchecked_into();
    replace(owner, name, &guard_after(&observe))
}

/// `observe(receiver, arguments)` runs first; then `owner[name]` as before.
pub(crate) fn observe_before(
    owner: &JsValue,
    name: &str,
    observe: impl Fn(JsValue, Array) + 'static,
) -> Option<()> {
    let observe: Function = Closure::<dyn Fn(JsValue, Array)>::new(observe)
        .into_js_value()
        .unchecked_into();
    replace(owner, name, &guard_before(&observe))
}
