//! Options for starting a private server: extra settings, pg_hba.conf lines, data dir, port.

use std::path::{Path, PathBuf};

use crate::local::Prepared;

/// How the server's data directory comes to be.
pub(crate) enum DataInit {
    /// `initdb` into `<dir>/data`.
    Initdb,
    /// An existing data directory, linked as `<dir>/data`.
    Existing(PathBuf),
    /// `pg_basebackup -R` from the server on 127.0.0.1 at this port (a streaming standby).
    BaseBackup { port: u16 },
}

/// A setup step run after the data directory exists and before postgres starts; returns
/// settings to add (e.g. paths inside the server's directory).
pub(crate) type PrepareFn =
    Box<dyn FnOnce(&Prepared<'_>) -> Result<Vec<(String, String)>, String> + Send>;

/// Options for [`TestServer::start_with`](crate::TestServer::start_with).
///
/// ```no_run
/// use fastasyncpg_testing::{ServerOptions, TestServer};
/// let server = TestServer::start_with(
///     ServerOptions::new()
///         .setting("max_connections", "20")
///         .hba_line("host all nobody 127.0.0.1/32 reject"),
/// )
/// .unwrap();
/// # drop(server);
/// ```
pub struct ServerOptions {
    pub(crate) settings: Vec<(String, String)>,
    pub(crate) hba_lines: Vec<String>,
    pub(crate) default_hba: bool,
    pub(crate) data: DataInit,
    pub(crate) port: Option<u16>,
    pub(crate) prepare: Vec<PrepareFn>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions::new()
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("settings", &self.settings)
            .field("hba_lines", &self.hba_lines)
            .field("default_hba", &self.default_hba)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    /// The defaults of [`TestServer::start`](crate::TestServer::start): a new cluster made by
    /// `initdb`, a free port, trust authentication on the socket and on 127.0.0.1.
    pub fn new() -> ServerOptions {
        ServerOptions {
            settings: Vec::new(),
            hba_lines: Vec::new(),
            default_hba: true,
            data: DataInit::Initdb,
            port: None,
            prepare: Vec::new(),
        }
    }

    /// Adds a server setting (`postgresql.conf` parameter), passed as `-c name=value` on the
    /// postgres command line after this crate's defaults (`fsync=off`, `max_connections=300`,
    /// ...), so it overrides them, `postgresql.conf` and `ALTER SYSTEM`. Kept across restarts.
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> ServerOptions {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Adds a `pg_hba.conf` line. Lines are matched first to last, and the first match wins:
    /// added lines come before the default ones (`local all all trust`, `host all all
    /// 127.0.0.1/32 trust`, `host replication all 127.0.0.1/32 trust` and the `::1`
    /// equivalents), unless [`ServerOptions::no_default_hba`] drops those.
    ///
    /// The file is `<dir>/pg_hba.conf` (the server runs with `hba_file` pointing at it), so the
    /// data directory's own `pg_hba.conf` is never used.
    pub fn hba_line(mut self, line: impl Into<String>) -> ServerOptions {
        self.hba_lines.push(line.into());
        self
    }

    /// Drops the default `pg_hba.conf` lines: only the lines added with
    /// [`ServerOptions::hba_line`] remain. Keep a `local all all trust` line (or similar):
    /// this crate's admin connection (database creation) uses the unix socket as the superuser.
    pub fn no_default_hba(mut self) -> ServerOptions {
        self.default_hba = false;
        self
    }

    /// Runs on an existing data directory instead of running `initdb`. It is used in place
    /// (linked as `<dir>/data`), not copied, and is not removed when the server stops. It must
    /// belong to the user the server runs as (`postgres` when running as root), with mode 0700
    /// or 0750, and must not be in use by another server. Its superuser must be `fastasyncpg`
    /// for the admin connection to work.
    pub fn existing_data_dir(mut self, path: impl AsRef<Path>) -> ServerOptions {
        self.data = DataInit::Existing(path.as_ref().to_path_buf());
        self
    }

    /// Listens on this port (TCP on 127.0.0.1 and the socket's number) instead of a free one.
    /// Start-up fails if the port is taken.
    pub fn port(mut self, port: u16) -> ServerOptions {
        self.port = Some(port);
        self
    }

    /// Makes the data directory with `pg_basebackup -R` from the server at 127.0.0.1:`port`.
    pub(crate) fn base_backup_of(mut self, port: u16) -> ServerOptions {
        self.data = DataInit::BaseBackup { port };
        self
    }

    /// Runs `f` after the data directory exists and before postgres starts; the settings it
    /// returns come after those of [`ServerOptions::setting`].
    pub(crate) fn prepare(
        mut self,
        f: impl FnOnce(&Prepared<'_>) -> Result<Vec<(String, String)>, String> + Send + 'static,
    ) -> ServerOptions {
        self.prepare.push(Box::new(f));
        self
    }
}
