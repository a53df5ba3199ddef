//! The telemetry one statement execution sees: mutable references into the batch.

use sluice_guest_sdk::otlp::logs::LogRecord;
use sluice_guest_sdk::otlp::trace::{Span, span::Event};
use sluice_guest_sdk::otlp::{InstrumentationScope, KeyValue, Metric, Resource};
use sluice_guest_sdk::points::{DataPointMut, DataPointRef};

use super::EvalError;

/// The item a statement runs on below the scope, if any.
pub enum Item<'a> {
    None,
    /// A span, and the index of one of its events in the spanevent context.
    Span(&'a mut Span, Option<usize>),
    /// A metric, and the index of one of its data points in the datapoint context.
    Metric(&'a mut Metric, Option<usize>),
    Log(&'a mut LogRecord),
}

pub struct Target<'a> {
    pub resource: &'a mut Option<Resource>,
    /// Absent in the resource context.
    pub scope: Option<&'a mut Option<InstrumentationScope>>,
    pub item: Item<'a>,
    /// The `cache` map, emptied before each item.
    pub cache: &'a mut Vec<KeyValue>,
}

fn missing(what: &str) -> EvalError {
    EvalError(format!("no {what} in this context"))
}

impl Target<'_> {
    pub fn resource(&self) -> Option<&Resource> {
        self.resource.as_ref()
    }

    pub fn resource_mut(&mut self) -> &mut Resource {
        self.resource.get_or_insert_with(Resource::default)
    }

    pub fn scope(&self) -> Result<Option<&InstrumentationScope>, EvalError> {
        self.scope
            .as_deref()
            .map(Option::as_ref)
            .ok_or_else(|| missing("scope"))
    }

    pub fn scope_mut(&mut self) -> Result<&mut InstrumentationScope, EvalError> {
        let scope = self.scope.as_deref_mut().ok_or_else(|| missing("scope"))?;
        Ok(scope.get_or_insert_with(InstrumentationScope::default))
    }

    pub fn span(&self) -> Result<&Span, EvalError> {
        match &self.item {
            Item::Span(s, _) => Ok(s),
            _ => Err(missing("span")),
        }
    }

    pub fn span_mut(&mut self) -> Result<&mut Span, EvalError> {
        match &mut self.item {
            Item::Span(s, _) => Ok(s),
            _ => Err(missing("span")),
        }
    }

    pub fn event(&self) -> Result<&Event, EvalError> {
        match &self.item {
            Item::Span(s, Some(i)) => s.events.get(*i).ok_or_else(|| missing("span event")),
            _ => Err(missing("span event")),
        }
    }

    pub fn event_mut(&mut self) -> Result<&mut Event, EvalError> {
        match &mut self.item {
            Item::Span(s, Some(i)) => s.events.get_mut(*i).ok_or_else(|| missing("span event")),
            _ => Err(missing("span event")),
        }
    }

    pub fn metric(&self) -> Result<&Metric, EvalError> {
        match &self.item {
            Item::Metric(m, _) => Ok(m),
            _ => Err(missing("metric")),
        }
    }

    pub fn metric_mut(&mut self) -> Result<&mut Metric, EvalError> {
        match &mut self.item {
            Item::Metric(m, _) => Ok(m),
            _ => Err(missing("metric")),
        }
    }

    pub fn point(&self) -> Result<DataPointRef<'_>, EvalError> {
        match &self.item {
            Item::Metric(m, Some(i)) => m.data_point(*i).ok_or_else(|| missing("data point")),
            _ => Err(missing("data point")),
        }
    }

    pub fn point_mut(&mut self) -> Result<DataPointMut<'_>, EvalError> {
        match &mut self.item {
            Item::Metric(m, Some(i)) => m.data_point_mut(*i).ok_or_else(|| missing("data point")),
            _ => Err(missing("data point")),
        }
    }

    pub fn log(&self) -> Result<&LogRecord, EvalError> {
        match &self.item {
            Item::Log(l) => Ok(l),
            _ => Err(missing("log record")),
        }
    }

    pub fn log_mut(&mut self) -> Result<&mut LogRecord, EvalError> {
        match &mut self.item {
            Item::Log(l) => Ok(l),
            _ => Err(missing("log record")),
        }
    }
}
