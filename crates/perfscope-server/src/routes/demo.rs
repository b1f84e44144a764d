//! `/demo`: a small shop page instrumented with the tracker, so a newcomer sees their
//! own visit arrive on the dashboard, and the demo API it calls.

use axum::extract::Query;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/demo", get(page))
        .route("/demo/hero.svg", get(hero))
        .route("/demo/api/products", get(products))
}

async fn page() -> Html<&'static str> {
    Html(include_str!("demo_assets/demo.html"))
}

async fn hero() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        include_str!("demo_assets/hero.svg"),
    )
}

#[derive(Deserialize)]
struct ProductsQuery {
    /// Simulated backend time, so the demo's API view has latencies worth seeing.
    #[serde(default)]
    delay_ms: u64,
}

#[derive(Serialize)]
struct Product {
    id: u32,
    name: &'static str,
    price_cents: u32,
}

const PRODUCTS: [Product; 3] = [
    Product {
        id: 1,
        name: "Trail shoe",
        price_cents: 12900,
    },
    Product {
        id: 2,
        name: "Rain jacket",
        price_cents: 18900,
    },
    Product {
        id: 3,
        name: "Water bottle",
        price_cents: 1900,
    },
];

async fn products(Query(query): Query<ProductsQuery>) -> Json<&'static [Product]> {
    tokio::time::sleep(Duration::from_millis(query.delay_ms.min(2000))).await;
    Json(&PRODUCTS)
}
