//! `--questions-log FILE`: every question the scan sent to its resolvers (after sharing), one
//! line `name TYPE` in the order asked, as dnsperf reads it. It archives what was asked, and
//! `sort -u FILE | wc -l` is the floor of distinct questions a scan of that input can ask.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::engine::Question;
use crate::io::fs::with_path;

pub struct QuestionsLog {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    /// The first write that failed (the log stops there; the scan goes on).
    error: Option<io::Error>,
}

impl QuestionsLog {
    /// Opens `path`, appending (a resumed scan's log goes on) or from empty.
    pub fn open(path: &Path, append: bool) -> io::Result<QuestionsLog> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(|e| with_path(e, path))?;
        Ok(QuestionsLog {
            path: path.to_path_buf(),
            out: Some(BufWriter::with_capacity(1 << 16, file)),
            error: None,
        })
    }

    pub fn write(&mut self, q: &Question) {
        if let Some(out) = &mut self.out
            && let Err(e) = writeln!(out, "{} {}", q.name, q.qtype)
        {
            self.error = Some(with_path(e, &self.path));
            self.out = None;
        }
    }

    /// Flushes the log; the first error, if any write failed.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        match self.out.take() {
            Some(mut out) => out.flush().map_err(|e| with_path(e, &self.path)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::RecordType;

    #[test]
    fn questions_are_lines_dnsperf_reads_and_a_resume_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.txt");
        let mut log = QuestionsLog::open(&path, false).unwrap();
        log.write(&Question::new("example.com", RecordType::MX, 1));
        log.write(&Question::new("1.2.0.192.in-addr.arpa", RecordType::PTR, 2));
        log.finish().unwrap();
        let mut log = QuestionsLog::open(&path, true).unwrap();
        log.write(&Question::new("mx.example.com", RecordType::AAAA, 3));
        log.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "example.com MX\n1.2.0.192.in-addr.arpa PTR\nmx.example.com AAAA\n"
        );
        let mut log = QuestionsLog::open(&path, false).unwrap();
        log.write(&Question::new("a.test", RecordType::TXT, 4));
        log.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a.test TXT\n");
    }
}
