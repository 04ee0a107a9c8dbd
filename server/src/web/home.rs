//! The landing page: what this server is and where to go next.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::services::Portal;

#[derive(Template, WebTemplate)]
#[template(path = "index.html", config = "../askama.toml")]
pub struct Index {
    base_url: String,
}

pub async fn index(portal: web::Data<Portal>) -> Index {
    Index {
        base_url: portal.settings().public_base_url.clone(),
    }
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../../static/style.css"))
}
