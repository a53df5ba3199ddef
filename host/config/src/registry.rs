//! Which component types Sluice knows: the ones it runs, and the Collector's ones it does not run
//! yet (refused with one clear line instead of "unknown type").

/// A config section holding components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Receivers,
    Processors,
    Exporters,
    Connectors,
    Extensions,
}

impl Section {
    pub(crate) const ALL: [Section; 5] = [
        Section::Receivers,
        Section::Processors,
        Section::Exporters,
        Section::Connectors,
        Section::Extensions,
    ];

    pub(crate) fn key(self) -> &'static str {
        match self {
            Section::Receivers => "receivers",
            Section::Processors => "processors",
            Section::Exporters => "exporters",
            Section::Connectors => "connectors",
            Section::Extensions => "extensions",
        }
    }

    /// Singular, for messages: `processor "tail_sampling": not supported yet`.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Section::Receivers => "receiver",
            Section::Processors => "processor",
            Section::Exporters => "exporter",
            Section::Connectors => "connector",
            Section::Extensions => "extension",
        }
    }

    /// Types Sluice runs.
    pub(crate) fn supported(self) -> &'static [&'static str] {
        match self {
            Section::Receivers => &["otlp"],
            Section::Processors => &[
                "batch",
                "memory_limiter",
                "transform",
                "wasm",
                "probabilistic_sampler",
                "tail_sampling",
                "tenant_processors",
            ],
            Section::Exporters => &[
                "debug",
                "file",
                "nop",
                "otlp",
                "otlp_grpc",
                "otlphttp",
                "otlp_http",
                "loki",
                "prometheus",
                "prometheusremotewrite",
            ],
            Section::Connectors => &["spanmetrics"],
            Section::Extensions => &[
                "health_check",
                "basicauth",
                "bearertokenauth",
                "file_storage",
                "tenancy",
                "headers_setter",
            ],
        }
    }

    /// Collector types users bring in their configs that Sluice does not run yet.
    fn planned(self) -> &'static [&'static str] {
        match self {
            Section::Receivers => &[
                "jaeger",
                "zipkin",
                "prometheus",
                "filelog",
                "hostmetrics",
                "kafka",
                "fluentforward",
                "syslog",
                "journald",
                "k8s_cluster",
                "kubeletstats",
                "docker_stats",
                "statsd",
                "opencensus",
                "otlpjsonfile",
                "prometheus_simple",
                "nop",
            ],
            Section::Processors => &[
                "transform",
                "filter",
                "attributes",
                "resource",
                "resourcedetection",
                "spanmetrics",
                "k8sattributes",
                "groupbytrace",
                "groupbyattrs",
                "routing",
                "cumulativetodelta",
                "deltatocumulative",
                "metricstransform",
                "redaction",
                "span",
                "servicegraph",
                "tailsampling",
            ],
            Section::Exporters => &[
                "kafka",
                "zipkin",
                "jaeger",
                "logging",
                "elasticsearch",
                "clickhouse",
                "awsxray",
                "googlecloud",
                "datadog",
            ],
            Section::Connectors => &[
                "count",
                "forward",
                "routing",
                "servicegraph",
                "exceptions",
                "failover",
                "roundrobin",
            ],
            Section::Extensions => &[
                "pprof",
                "zpages",
                "oauth2client",
                "oidc",
                "memory_ballast",
                "health_check_v2",
                "sigv4auth",
                "k8s_observer",
            ],
        }
    }
}

/// What Sluice makes of a component type.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Known {
    Supported,
    Planned,
    Unknown,
}

pub(crate) fn lookup(section: Section, kind: &str) -> Known {
    if section.supported().contains(&kind) {
        Known::Supported
    } else if section.planned().contains(&kind) {
        Known::Planned
    } else {
        Known::Unknown
    }
}
