//! The public pages' HTML: askama templates filled from what the services
//! decided for the page's viewer. Nothing here chooses what a viewer may
//! see; it only puts words to the members it was given.

use askama::Template;

use super::i18n::{Lang, Words};
use crate::services::devices::ProductView;
use crate::services::pages::{Banner, UnitPage, WarrantyState};

/// The links a page makes to itself: the language switch and the report
/// form, with the label's code only for the customer (a wrong code is not
/// carried on).
pub struct SelfLinks {
    /// `/pip/01/{gtin}/21/{serial}` or the product's path.
    pub path: String,
    /// The verified code, upper case.
    pub code: Option<String>,
}

impl SelfLinks {
    fn with(&self, lang: Option<Lang>) -> String {
        let mut query = Vec::new();
        if let Some(c) = &self.code {
            query.push(format!("c={c}"));
        }
        if let Some(l) = lang {
            query.push(format!("lang={}", l.code()));
        }
        if query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, query.join("&"))
        }
    }
}

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::En => Lang::De,
        Lang::De => Lang::En,
    }
}

pub struct HistoryLine {
    day: String,
    what: &'static str,
    country: Option<String>,
    declared_in_error: bool,
    proof: Option<String>,
}

pub struct ComponentItem {
    product: String,
    serial: String,
    class: &'static str,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "pages/unit.html", config = "../askama.toml")]
struct UnitTemplate<'a> {
    lang: &'static str,
    t: &'static Words,
    switch_href: String,
    switch_lang: &'static str,
    title: String,
    banner_class: &'static str,
    banner_mark: &'static str,
    banner_title: &'static str,
    banner_detail: &'static str,
    copy_confirmed: bool,
    wrong_code: bool,
    product_name: &'a str,
    model: &'a str,
    serial: &'a str,
    lot: Option<&'a str>,
    built: Option<&'a str>,
    customer: bool,
    warranty: String,
    history: Vec<HistoryLine>,
    components: Vec<ComponentItem>,
    form_action: String,
}

#[derive(Template)]
#[template(path = "pages/product.html", config = "../askama.toml")]
struct ProductTemplate<'a> {
    lang: &'static str,
    t: &'static Words,
    switch_href: String,
    switch_lang: &'static str,
    name: &'a str,
    model: &'a str,
    lot: Option<&'a str>,
    warranty: String,
    terms: &'a str,
}

#[derive(Template)]
#[template(path = "pages/message.html", config = "../askama.toml")]
struct MessageTemplate<'a> {
    lang: &'static str,
    t: &'static Words,
    switch_href: String,
    switch_lang: &'static str,
    class: &'static str,
    mark: &'static str,
    heading: &'a str,
    detail: &'a str,
    more: Option<&'a str>,
    back: Option<String>,
}

/// The class and the mark of a banner: the status is in words too, never
/// in colour alone.
fn banner_look(b: Banner) -> (&'static str, &'static str) {
    match b {
        Banner::Genuine => ("genuine", "✓"),
        Banner::Recalled => ("recalled", "!"),
        Banner::Stolen => ("stolen", "!"),
        Banner::Decommissioned => ("decommissioned", "×"),
    }
}

fn warranty_words(t: &Words, w: Option<&WarrantyState>, months: i32) -> String {
    match w {
        Some(WarrantyState::Active { until }) => format!("{} {until}", t.warranty_active),
        Some(WarrantyState::Expired { on }) => format!("{} {on}", t.warranty_expired),
        Some(WarrantyState::NotStarted { months }) => {
            format!("{} {months} {}", t.warranty_not_started, t.warranty_months)
        }
        Some(WarrantyState::None) => t.warranty_none.to_owned(),
        None if months > 0 => format!("{months} {}", t.warranty_months),
        None => t.warranty_none.to_owned(),
    }
}

/// A unit's page.
pub fn unit(page: &UnitPage, lang: Lang, links: &SelfLinks) -> askama::Result<String> {
    let t = lang.words();
    let (banner_class, banner_mark) = banner_look(page.banner);
    let (banner_title, banner_detail) = t.banner(page.banner);
    let product_name = page.product.as_ref().map_or("", |p| p.name.as_str());
    let history = page
        .history
        .iter()
        .map(|e| HistoryLine {
            day: e.day.clone(),
            what: t.happening(e.happening),
            country: e.country.clone(),
            declared_in_error: e.declared_in_error,
            proof: e.leaf_index.map(|i| format!("/log/proof/leaf/{i}")),
        })
        .collect();
    let components = page
        .components
        .iter()
        .map(|c| {
            let (class, _) = banner_look(c.banner);
            ComponentItem {
                product: c.product.clone().unwrap_or_default(),
                serial: c.serial.clone(),
                class,
                status: t.status_word(c.banner),
            }
        })
        .collect();
    UnitTemplate {
        lang: lang.code(),
        t,
        switch_href: links.with(Some(other(lang))),
        switch_lang: other(lang).code(),
        title: format!("{banner_title}: {product_name} {}", page.serial),
        banner_class,
        banner_mark,
        banner_title,
        banner_detail,
        copy_confirmed: page.copy_confirmed,
        wrong_code: page.wrong_code,
        product_name,
        model: page.product.as_ref().map_or("", |p| p.model.as_str()),
        serial: &page.serial,
        lot: page.lot.as_deref(),
        built: page.built.as_deref(),
        customer: page.viewer == crate::services::pages::PageViewer::Customer,
        warranty: warranty_words(t, page.warranty.as_ref(), 0),
        history,
        components,
        form_action: links.with(Some(lang)),
    }
    .render()
}

/// A product's page (and a lot's): what the public may know of the
/// product, never a list of serials.
pub fn product(
    p: &ProductView,
    lot: Option<&str>,
    lang: Lang,
    links: &SelfLinks,
) -> askama::Result<String> {
    let t = lang.words();
    ProductTemplate {
        lang: lang.code(),
        t,
        switch_href: links.with(Some(other(lang))),
        switch_lang: other(lang).code(),
        name: &p.name,
        model: &p.model,
        lot,
        warranty: warranty_words(t, None, p.warranty_months),
        terms: &p.warranty_terms,
    }
    .render()
}

/// What a message page says.
pub enum Message {
    Unknown,
    Invalid,
    Reported,
    Limited,
    Unavailable,
}

/// A page that says one thing: an unknown unit, a bad link, a report.
pub fn message(m: &Message, lang: Lang, links: &SelfLinks) -> askama::Result<String> {
    let t = lang.words();
    let (class, mark, heading, detail, more, back) = match m {
        Message::Unknown => (
            "unknown",
            "?",
            t.unknown_title,
            t.unknown_detail,
            Some(t.unknown_report),
            false,
        ),
        Message::Invalid => (
            "unknown",
            "?",
            t.invalid_title,
            t.invalid_detail,
            None,
            false,
        ),
        Message::Reported => (
            "genuine",
            "✓",
            t.report_done,
            t.report_done_detail,
            None,
            true,
        ),
        Message::Limited => ("recalled", "!", t.report_limited, "", None, true),
        Message::Unavailable => (
            "recalled",
            "!",
            t.unavailable_title,
            t.unavailable_detail,
            None,
            false,
        ),
    };
    MessageTemplate {
        lang: lang.code(),
        t,
        switch_href: links.with(Some(other(lang))),
        switch_lang: other(lang).code(),
        class,
        mark,
        heading,
        detail,
        more,
        back: back.then(|| links.with(Some(lang))),
    }
    .render()
}
