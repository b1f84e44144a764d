//! The hover readout: a text-only label placed at the point under the pointer.

use leptos::prelude::*;

/// What the readout says and where, in CSS pixels from the plot's top left corner.
#[derive(Clone, Debug, PartialEq)]
pub struct Readout {
    pub text: String,
    pub left: f64,
    pub top: f64,
    /// Past the middle the label sits left of the point, so it stays inside the chart.
    pub flip: bool,
}

/// The marker dot and the label; nothing while the pointer is away.
#[component]
pub fn HoverReadout(readout: ReadSignal<Option<Readout>>) -> impl IntoView {
    move || {
        readout.get().map(|r| {
            let left = format!("{:.1}px", r.left);
            let top = format!("{:.1}px", r.top);
            view! {
                <span class="chart-marker" style:left=left.clone() style:top=top.clone()></span>
                <p class="chart-readout" class:chart-readout-flip=r.flip
                    style:left=left style:top=top>{r.text}</p>
            }
        })
    }
}
