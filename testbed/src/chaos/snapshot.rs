//! Redis restored from an older snapshot ([`Fault::RestoreSnapshot`]): the primary's data
//! saved at the fault's start, the whole deployment put back to it at the heal, as an
//! operator restoring a backup does. Whatever was stored in between is gone, acked or not
//! (`--acks replicas:1` does not survive a restore); the regions must find that the log went
//! back and announce it (an `epoch` frame with `lost_after`) to every subscriber concerned.
//!
//! [`Fault::RestoreSnapshot`]: super::nemesis::Fault::RestoreSnapshot

use super::deploy::{redis_cli, Deployment, Node};
use crate::{Error, Result};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The file a data node starts on when it is there (moved to `dump.rdb` at its start).
pub const RESTORE: &str = "restore.rdb";

/// How long the restored replica may take to sync.
const SYNCED: Duration = Duration::from_secs(20);

impl Deployment {
    /// `SAVE` on data node `primary` and keep a copy of its dump as snapshot `n`.
    pub fn snapshot(&self, primary: usize, n: usize) -> Result<()> {
        let node = Node::Data(primary);
        let saved = redis_cli(node, &["SAVE"])?;
        if saved.trim() != "OK" {
            return Err(Error::NotReady(format!("SAVE on {}: {saved}", node.host())));
        }
        std::fs::copy(self.dir(node).join("dump.rdb"), self.snapshot_path(n))?;
        Ok(())
    }

    /// Put both data nodes back to snapshot `n`: SIGKILL both, start the one the Sentinels
    /// name the primary on the snapshot, then the other as its replica (empty, it syncs),
    /// and wait until it is in sync.
    pub fn restore(&mut self, n: usize) -> Result<()> {
        let primary = self
            .primary()
            .ok_or_else(|| Error::NotReady("no Sentinel names a primary".into()))?;
        let replica = 1 - primary;
        self.kill(Node::Data(replica));
        self.kill(Node::Data(primary));
        std::fs::copy(
            self.snapshot_path(n),
            self.dir(Node::Data(primary)).join(RESTORE),
        )?;
        self.start(Node::Data(primary))?;
        self.start(Node::Data(replica))?;
        let deadline = Instant::now() + SYNCED;
        while !self.replica_synced(replica) {
            if Instant::now() > deadline {
                return Err(Error::NotReady(format!(
                    "the restored replica {} did not sync within {SYNCED:?}",
                    Node::Data(replica).host()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    fn snapshot_path(&self, n: usize) -> PathBuf {
        self.dir(Node::Data(0))
            .with_file_name(format!("snapshot-{n}.rdb"))
    }
}
