//! The boundary between the page's own calls (`fetch`, XHR, History) and the tracker's
//! code that watches them. The page's call runs in a few lines of JavaScript, and the
//! tracker's part runs inside a `try` there, so nothing it does, not even a wasm trap
//! after a panic (the build uses `panic = "abort"`), can reach the page.
//!
//! Methods are replaced by a `Proxy` of the original, which keeps the exact argument
//! list, the receiver, and the original's `name`, `length` and native `toString()`.

use crate::browser::{callback, property};
use js_sys::{Array, Function, Object, Proxy, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen(inline_js = "
export function guardAfter(observe) {
  return { apply(target, receiver, args) {
    const started = performance.now();
    const result = Reflect.apply(target, receiver, args);
    try { observe([result, receiver, args, started]); } catch (_) {}
    return result;
  } };
}
export function guardBefore(observe) {
  return { apply(target, receiver, args) {
    try { observe([undefined, receiver, args]); } catch (_) {}
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

/// What `page_guard` tells the tracker about one call of the page's.
pub(crate) struct GuardedCall(Array);

impl GuardedCall {
    /// What the call returned (`undefined` for `observe_before`).
    pub(crate) fn result(&self) -> JsValue {
        self.0.get(0)
    }

    /// The `this` of the call.
    pub(crate) fn receiver(&self) -> JsValue {
        self.0.get(1)
    }

    /// The call's arguments.
    pub(crate) fn arguments(&self) -> Array {
        self.0.get(2).unchecked_into()
    }

    /// `performance.now()` just before the call (`observe_after` only).
    pub(crate) fn started_ms(&self) -> f64 {
        self.0.get(3).as_f64().unwrap_or(0.0)
    }
}

fn observer(observe: impl Fn(GuardedCall) + 'static) -> Function {
    callback(move |call| observe(GuardedCall(call.unchecked_into())))
}

/// `owner[name]` runs as before; then `observe` sees the call and its result.
pub(crate) fn observe_after(
    owner: &JsValue,
    name: &str,
    observe: impl Fn(GuardedCall) + 'static,
) -> Option<()> {
    replace(owner, name, &guard_after(&observer(observe)))
}

/// `observe` sees the call first; then `owner[name]` runs as before.
pub(crate) fn observe_before(
    owner: &JsValue,
    name: &str,
    observe: impl Fn(GuardedCall) + 'static,
) -> Option<()> {
    replace(owner, name, &guard_before(&observer(observe)))
}
