//! Random bytes for ids: the browser's CSPRNG when it has one, `Math.random` otherwise.

use web_sys::Window;

pub(crate) fn random_bytes<const N: usize>(window: &Window) -> [u8; N] {
    let mut bytes = [0u8; N];
    let from_crypto = window
        .crypto()
        .ok()
        .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).ok())
        .is_some();
    if !from_crypto {
        // Ids only need to be unlikely to collide, not unguessable.
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}
