//! Hot swap on file change: watches the directories of the WebAssembly components in use and
//! redeploys a processor when its component file is written or replaced: where it runs in
//! pipelines, and in every tenant chain that lists it (each tenant swapped on its own).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::wasm::WasmProcessors;

/// How long a file must be quiet before it is loaded (a copy in progress fires many events).
const SETTLE: Duration = Duration::from_millis(300);

/// Start watching; the returned watcher stops when dropped.
pub fn start(processors: Arc<WasmProcessors>) -> Option<notify::RecommendedWatcher> {
    let files = processors.watched_files();
    if files.is_empty() {
        return None;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = match notify::recommended_watcher(
        move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && (event.kind.is_create() || event.kind.is_modify())
            {
                for path in event.paths {
                    let _ = tx.send(path);
                }
            }
        },
    ) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch WebAssembly component files: hot swap on file change is off (SIGHUP still reloads)");
            return None;
        }
    };
    let dirs: BTreeSet<PathBuf> = files
        .iter()
        .filter_map(|(f, _)| {
            f.parent().map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            })
        })
        .collect();
    for dir in &dirs {
        if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch directory for component changes");
        }
    }
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut changed = BTreeSet::from([first]);
            // Let the writer finish: collect events until the files are quiet.
            while let Ok(Some(path)) = tokio::time::timeout(SETTLE, rx.recv()).await {
                changed.insert(path);
            }
            let targets: BTreeSet<_> = processors
                .watched_files()
                .into_iter()
                .filter(|(file, _)| changed.iter().any(|c| same_file(c, file)))
                .map(|(_, id)| id)
                .collect();
            for id in targets {
                let processors = processors.clone();
                let outcome = tokio::task::spawn_blocking(move || {
                    let result = processors.component_changed(&id);
                    (id, result)
                })
                .await;
                match outcome {
                    Ok((id, Err(e))) => {
                        tracing::error!(processor = %id, "new component rejected, the running version keeps serving: {e}")
                    }
                    Ok((_, Ok(()))) => {}
                    Err(e) => tracing::error!(error = %e, "component reload task failed"),
                }
            }
        }
    });
    Some(watcher)
}

fn same_file(event_path: &std::path::Path, watched: &std::path::Path) -> bool {
    if event_path == watched {
        return true;
    }
    match (event_path.canonicalize(), watched.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => event_path.file_name() == watched.file_name(),
    }
}
