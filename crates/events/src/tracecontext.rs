//! W3C trace context carried in AMQP headers, so one trace spans the saga.

use opentelemetry::propagation::Extractor;
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes `span` a child of the trace named by `traceparent`, when there is one.
pub(crate) fn set_parent(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier: HashMap<String, String> =
        HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let context = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&MapExtractor(&carrier))
    });
    // Fails only without an OpenTelemetry layer, where there is nothing to link.
    let _ = span.set_parent(context);
}

struct MapExtractor<'a>(&'a HashMap<String, String>);

impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}
