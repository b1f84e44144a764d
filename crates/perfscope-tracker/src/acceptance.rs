//! Whether the collector would accept the site key, checked before the tracker starts:
//! every batch would be refused otherwise. Events are checked where they are recorded
//! (`measurement`), with the model's own predicates.

use perfscope_model::{is_key, MAX_SITE_LEN};

pub fn site_is_acceptable(site: &str) -> bool {
    is_key(site, MAX_SITE_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_keys_follow_the_collectors_rule() {
        assert!(site_is_acceptable("perfscope-dashboard"));
        assert!(!site_is_acceptable("my site"));
        assert!(!site_is_acceptable(""));
    }
}
