//! Single-page apps: a route change through the History API (`pushState`, `replaceState`,
//! back/forward between entries) ends the current page view and starts a new one.

use crate::browser::{current_path, event_handler, listen, property};
use crate::page_guard::observe_after;
use crate::pipeline::begin_page_view;
use crate::vitals::on_soft_navigation;
use perfscope_model::NavigationType;
use std::cell::RefCell;
use std::rc::Rc;
use web_sys::{Performance, Window};

/// Only a new path is a new page: query and hash changes (filters, anchors, tabs) stay
/// within the page view, as the route name ignores them too.
struct RouteWatch {
    window: Window,
    performance: Performance,
    path: RefCell<String>,
}

impl RouteWatch {
    fn check(&self) {
        let path = current_path(&self.window);
        let changed = {
            let Ok(mut current) = self.path.try_borrow_mut() else {
                return;
            };
            if *current == path {
                false
            } else {
                *current = path;
                true
            }
        };
        if changed {
            on_soft_navigation(self.performance.now());
            begin_page_view(NavigationType::Soft);
        }
    }
}

pub(crate) fn install(window: &Window, performance: Performance) -> Option<()> {
    let watch = Rc::new(RouteWatch {
        window: window.clone(),
        performance,
        path: RefCell::new(current_path(window)),
    });
    let history = property(window, "history")?;
    for method in ["pushState", "replaceState"] {
        let after = Rc::clone(&watch);
        observe_after(&history, method, move |_| after.check())?;
    }
    let on_pop = Rc::clone(&watch);
    listen(window, "popstate", &event_handler(move |_| on_pop.check()));
    Some(())
}
