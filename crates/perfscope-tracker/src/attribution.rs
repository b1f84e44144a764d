//! The `Attribution` each vital carries, assembled from what the measuring code found,
//! and kept only when the collector would accept it: a bad attribution must never cost
//! the vital itself.

use crate::cls::LargestShift;
use crate::inp::Phases;
use crate::vital_rules::LcpParts;
use perfscope_model::{is_text, Attribution, InteractionType, Limits, VitalEvent, VitalName};

pub fn lcp(target: Option<String>, url: Option<String>, parts: LcpParts) -> Attribution {
    let limits = Limits::default();
    Attribution {
        target,
        // Inline images (`data:` URLs) can be megabytes; such a URL is left out.
        url: url.filter(|url| is_text(url, limits.max_url_len)),
        time_to_first_byte: Some(parts.time_to_first_byte),
        resource_load_delay: Some(parts.resource_load_delay),
        resource_load_duration: Some(parts.resource_load_duration),
        element_render_delay: Some(parts.element_render_delay),
        ..Attribution::default()
    }
}

pub fn inp(
    target: Option<String>,
    is_keyboard: bool,
    phases: Option<Phases>,
    scripts: Vec<String>,
) -> Attribution {
    Attribution {
        target,
        interaction_type: Some(if is_keyboard {
            InteractionType::Keyboard
        } else {
            InteractionType::Pointer
        }),
        input_delay: phases.map(|p| p.input_delay),
        processing_duration: phases.map(|p| p.processing_duration),
        presentation_delay: phases.map(|p| p.presentation_delay),
        scripts,
        ..Attribution::default()
    }
}

pub fn cls(largest: &LargestShift) -> Attribution {
    Attribution {
        target: largest.target.clone(),
        largest_shift_time: Some(largest.start_time_ms),
        largest_shift_value: Some(largest.value),
        ..Attribution::default()
    }
}

/// `attribution` if a vital carrying it would be accepted, else `None`.
pub fn acceptable(name: VitalName, value: f64, attribution: Attribution) -> Option<Attribution> {
    let probe = VitalEvent {
        id: "probe".into(),
        ts: 0.0,
        name,
        value,
        attribution: Some(attribution),
    };
    if probe.is_plausible(&Limits::default()) {
        probe.attribution
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> LcpParts {
        LcpParts {
            time_to_first_byte: 20.0,
            resource_load_delay: 5.0,
            resource_load_duration: 300.0,
            element_render_delay: 75.0,
        }
    }

    #[test]
    fn lcp_attribution_carries_the_element_the_url_and_four_parts() {
        let a = lcp(
            Some("#hero".into()),
            Some("http://x.test/hero.png".into()),
            parts(),
        );
        assert_eq!(a.target.as_deref(), Some("#hero"));
        assert_eq!(a.url.as_deref(), Some("http://x.test/hero.png"));
        assert_eq!(a.resource_load_duration, Some(300.0));
        assert_eq!(acceptable(VitalName::Lcp, 400.0, a.clone()), Some(a));
    }

    #[test]
    fn an_overlong_url_is_dropped_but_the_rest_is_kept() {
        let data_url = "data:image/png;base64,".to_string() + &"A".repeat(5000);
        let a = lcp(Some("img".into()), Some(data_url), parts());
        assert_eq!(a.url, None);
        assert!(acceptable(VitalName::Lcp, 400.0, a).is_some());
    }

    #[test]
    fn inp_attribution_names_type_phases_and_scripts() {
        let phases = Phases {
            input_delay: 4.0,
            processing_duration: 180.0,
            presentation_delay: 16.0,
            interaction_time: 1000.0,
            processing_end: 1184.0,
        };
        let a = inp(
            Some("#slow".into()),
            false,
            Some(phases),
            vec!["http://x.test/app.js".into()],
        );
        assert_eq!(a.interaction_type, Some(InteractionType::Pointer));
        assert_eq!(a.processing_duration, Some(180.0));
        assert_eq!(a.scripts.len(), 1);
        assert!(acceptable(VitalName::Inp, 200.0, a).is_some());
        let keyboard = inp(None, true, None, Vec::new());
        assert_eq!(keyboard.interaction_type, Some(InteractionType::Keyboard));
        assert_eq!(keyboard.input_delay, None);
    }

    #[test]
    fn cls_attribution_names_the_largest_shift() {
        let largest = LargestShift {
            start_time_ms: 812.5,
            value: 0.21,
            target: Some("#banner".into()),
        };
        let a = cls(&largest);
        assert_eq!(a.largest_shift_time, Some(812.5));
        assert_eq!(a.largest_shift_value, Some(0.21));
        assert_eq!(a.target.as_deref(), Some("#banner"));
        assert!(acceptable(VitalName::Cls, 0.3, a).is_some());
    }

    #[test]
    fn implausible_attributions_are_refused() {
        let negative = LcpParts {
            element_render_delay: -1.0,
            ..parts()
        };
        assert_eq!(
            acceptable(VitalName::Lcp, 400.0, lcp(None, None, negative)),
            None
        );
        let too_many_scripts = inp(None, false, None, vec!["http://x.test/a.js".into(); 6]);
        assert_eq!(acceptable(VitalName::Inp, 100.0, too_many_scripts), None);
    }
}
