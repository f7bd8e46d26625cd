//! The console: server-rendered pages for the shop's staff and hosts (minijinja templates
//! under `templates/console/`), with our own small stylesheet and script compiled in.
//! Handlers live in `src/http/console.rs`; who may open which page is `crate::roles`.

pub mod catalogue_lang;
pub mod counter_lang;
pub mod errors_lang;
pub mod lang;
pub mod lives;
pub mod lives_lang;
pub mod members_lang;
pub mod orders_lang;
pub mod page;
pub mod payments_lang;
pub mod replies_lang;
pub mod report_lang;
pub mod review_lang;
pub mod settings_lang;
pub mod synonyms_lang;

use crate::accounts::LoginLimiter;
use crate::config::ConsoleConfig;

/// What the console's handlers share besides the store.
pub struct ConsoleServices {
    pub logins: LoginLimiter,
}

impl ConsoleServices {
    pub fn new(config: &ConsoleConfig) -> ConsoleServices {
        ConsoleServices {
            logins: LoginLimiter::new(
                config.login_per_address_per_minute,
                config.login_per_username_per_minute,
            ),
        }
    }
}

/// The stylesheet served at `/assets/console.css`.
pub const CSS: &str = include_str!("../../assets/console.css");
/// The script served at `/assets/console.js`: confirmations and copying. Every page
/// works without it.
pub const JS: &str = include_str!("../../assets/console.js");

/// The review queue's script served at `/assets/review.js`: polling for new items and
/// the j/k/a/e/d keys. The queue works without it.
pub const REVIEW_JS: &str = include_str!("../../assets/review.js");

/// The review queue's and the comment stream's templates.
pub const REVIEW_TEMPLATES: [(&str, &str); 3] = [
    (
        "review.html",
        include_str!("../../templates/console/review.html"),
    ),
    (
        "stream.html",
        include_str!("../../templates/console/stream.html"),
    ),
    (
        "event.html",
        include_str!("../../templates/console/event.html"),
    ),
];

/// The products, product and CSV import pages' templates.
pub const CATALOGUE_TEMPLATES: [(&str, &str); 3] = [
    (
        "products.html",
        include_str!("../../templates/console/products.html"),
    ),
    (
        "products_item.html",
        include_str!("../../templates/console/products_item.html"),
    ),
    (
        "products_import.html",
        include_str!("../../templates/console/products_import.html"),
    ),
];
