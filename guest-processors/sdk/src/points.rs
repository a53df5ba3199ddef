//! Uniform access to the four kinds of metric data points.

use crate::otlp::KeyValue;
use crate::otlp::metrics::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint, metric::Data,
};

/// A mutable reference to one data point of any metric type.
#[derive(Debug)]
pub enum DataPointMut<'a> {
    /// A gauge or sum point.
    Number(&'a mut NumberDataPoint),
    Histogram(&'a mut HistogramDataPoint),
    ExponentialHistogram(&'a mut ExponentialHistogramDataPoint),
    Summary(&'a mut SummaryDataPoint),
}

/// A shared reference to one data point of any metric type.
#[derive(Debug, Clone, Copy)]
pub enum DataPointRef<'a> {
    /// A gauge or sum point.
    Number(&'a NumberDataPoint),
    Histogram(&'a HistogramDataPoint),
    ExponentialHistogram(&'a ExponentialHistogramDataPoint),
    Summary(&'a SummaryDataPoint),
}

macro_rules! each_point {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            Self::Number($p) => $e,
            Self::Histogram($p) => $e,
            Self::ExponentialHistogram($p) => $e,
            Self::Summary($p) => $e,
        }
    };
}

impl<'a> DataPointMut<'a> {
    /// The point's attributes.
    pub fn attributes_mut(&mut self) -> &mut Vec<KeyValue> {
        each_point!(self, p => &mut p.attributes)
    }
    /// The point's exemplars (summaries have none).
    pub fn exemplars_mut(&mut self) -> &mut [Exemplar] {
        match self {
            Self::Number(p) => &mut p.exemplars,
            Self::Histogram(p) => &mut p.exemplars,
            Self::ExponentialHistogram(p) => &mut p.exemplars,
            Self::Summary(_) => &mut [],
        }
    }
    /// `start_time_unix_nano`, writable.
    pub fn start_time_unix_nano_mut(&mut self) -> &mut u64 {
        each_point!(self, p => &mut p.start_time_unix_nano)
    }
    /// `time_unix_nano`, writable.
    pub fn time_unix_nano_mut(&mut self) -> &mut u64 {
        each_point!(self, p => &mut p.time_unix_nano)
    }
    /// `flags`, writable.
    pub fn flags_mut(&mut self) -> &mut u32 {
        each_point!(self, p => &mut p.flags)
    }
    /// A shared view of the same point.
    pub fn as_ref(&self) -> DataPointRef<'_> {
        match self {
            Self::Number(p) => DataPointRef::Number(p),
            Self::Histogram(p) => DataPointRef::Histogram(p),
            Self::ExponentialHistogram(p) => DataPointRef::ExponentialHistogram(p),
            Self::Summary(p) => DataPointRef::Summary(p),
        }
    }
}

impl<'a> DataPointRef<'a> {
    /// The point's attributes.
    pub fn attributes(&self) -> &'a [KeyValue] {
        each_point!(*self, p => &p.attributes)
    }
    /// `start_time_unix_nano`.
    pub fn start_time_unix_nano(&self) -> u64 {
        each_point!(*self, p => p.start_time_unix_nano)
    }
    /// `time_unix_nano`.
    pub fn time_unix_nano(&self) -> u64 {
        each_point!(*self, p => p.time_unix_nano)
    }
    /// `flags`.
    pub fn flags(&self) -> u32 {
        each_point!(*self, p => p.flags)
    }
}

impl Metric {
    /// How many data points the metric holds (0 when it has no data).
    pub fn data_point_count(&self) -> usize {
        match &self.data {
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        }
    }

    /// The `index`th data point, if there is one.
    pub fn data_point(&self, index: usize) -> Option<DataPointRef<'_>> {
        Some(match self.data.as_ref()? {
            Data::Gauge(g) => DataPointRef::Number(g.data_points.get(index)?),
            Data::Sum(s) => DataPointRef::Number(s.data_points.get(index)?),
            Data::Histogram(h) => DataPointRef::Histogram(h.data_points.get(index)?),
            Data::ExponentialHistogram(h) => {
                DataPointRef::ExponentialHistogram(h.data_points.get(index)?)
            }
            Data::Summary(s) => DataPointRef::Summary(s.data_points.get(index)?),
        })
    }

    /// The `index`th data point, writable, if there is one.
    pub fn data_point_mut(&mut self, index: usize) -> Option<DataPointMut<'_>> {
        Some(match self.data.as_mut()? {
            Data::Gauge(g) => DataPointMut::Number(g.data_points.get_mut(index)?),
            Data::Sum(s) => DataPointMut::Number(s.data_points.get_mut(index)?),
            Data::Histogram(h) => DataPointMut::Histogram(h.data_points.get_mut(index)?),
            Data::ExponentialHistogram(h) => {
                DataPointMut::ExponentialHistogram(h.data_points.get_mut(index)?)
            }
            Data::Summary(s) => DataPointMut::Summary(s.data_points.get_mut(index)?),
        })
    }

    /// Calls `f` with every data point of the metric.
    pub fn for_each_data_point_mut(&mut self, mut f: impl FnMut(DataPointMut<'_>)) {
        match &mut self.data {
            Some(Data::Gauge(g)) => g
                .data_points
                .iter_mut()
                .for_each(|p| f(DataPointMut::Number(p))),
            Some(Data::Sum(s)) => s
                .data_points
                .iter_mut()
                .for_each(|p| f(DataPointMut::Number(p))),
            Some(Data::Histogram(h)) => h
                .data_points
                .iter_mut()
                .for_each(|p| f(DataPointMut::Histogram(p))),
            Some(Data::ExponentialHistogram(h)) => h
                .data_points
                .iter_mut()
                .for_each(|p| f(DataPointMut::ExponentialHistogram(p))),
            Some(Data::Summary(s)) => s
                .data_points
                .iter_mut()
                .for_each(|p| f(DataPointMut::Summary(p))),
            None => {}
        }
    }
}
