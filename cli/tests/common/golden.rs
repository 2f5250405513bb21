//! Golden files: each output compared with its file, or the files rewritten
//! for review with `UPDATE_GOLDEN=1`.

use std::path::Path;

/// The golden files that differ from their output so far.
#[derive(Default)]
pub struct Golden(Vec<String>);

impl Golden {
    pub fn check(&mut self, golden: &Path, text: &str) {
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(golden, text).unwrap();
        } else if std::fs::read_to_string(golden).ok().as_deref() != Some(text) {
            self.0.push(golden.display().to_string());
        }
    }

    pub fn assert_fresh(self) {
        let stale = self.0;
        assert!(
            stale.is_empty(),
            "differs from the output (UPDATE_GOLDEN=1 rewrites, then review the diff): {stale:#?}"
        );
    }
}
