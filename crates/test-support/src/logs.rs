//! Test logging, and logs captured in memory for tests that check what reaches them.

use service_kit::configuration::{LogFormat, TelemetrySettings};
use std::sync::Once;

pub(crate) fn init_test_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let settings = TelemetrySettings {
                log_filter: "debug".to_owned(),
                log_format: LogFormat::Pretty,
                otlp_endpoint: None,
                otlp_sample_ratio: 1.0,
            };
            let guard = service_kit::telemetry::init("test", &settings).expect("telemetry");
            std::mem::forget(guard);
        }
    });
}

/// Log output kept in memory, for tests that check what reaches the logs: install it with
/// [`CapturedLogs::install_global`] (or as any `fmt` layer's writer), then read
/// [`CapturedLogs::text`].
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Installs a global subscriber writing every event at debug level into memory, in the
    /// production JSON format (with its spans); `None` when another subscriber is already
    /// installed.
    pub fn install_global() -> Option<Self> {
        use tracing_subscriber::layer::SubscriberExt;
        let logs = Self::default();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("debug"))
            .with(service_kit::telemetry::json_log_layer(logs.clone()));
        tracing::subscriber::set_global_default(subscriber).ok().map(|()| logs)
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}
