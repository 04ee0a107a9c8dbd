//! HTTP: the route table and its handlers. Handlers call `services`, never
//! `store`.

mod bench;
mod graphql;
mod graphql_body;
mod graphql_document;
mod health;
mod home;
mod ide;
mod keys;
mod log;
mod pages;
mod resolver;

use actix_web::web;

pub use pages::Memo as PageMemo;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .configure(log::routes)
        .configure(keys::routes)
        .configure(ide::routes)
        .configure(resolver::routes)
        .configure(pages::routes)
        .service(graphql::resource())
        .service(web::resource("/_bench/baseline").route(web::get().to(bench::baseline)))
        .service(web::resource("/").route(web::get().to(home::index)))
        .service(web::resource("/static/style.css").route(web::get().to(home::stylesheet)));
}
