//! What a simulated resolver did: queries by type and transport, rcodes sent, faults injected.

use std::collections::BTreeMap;

use hickory_proto::rr::RecordType;

use crate::wire::Rcode;

/// Things a simulated resolver counts. The names are the keys of the printed report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    UdpQuery,
    TcpQuery,
    /// Datagrams ignored: shorter than a header, or a response rather than a query.
    Ignored,
    FormErr,
    Lost,
    Dead,
    QpsDropped,
    QpsRefused,
    ServFailInjected,
    RefusedInjected,
    TruncatedForced,
    TruncatedSize,
    GarbageId,
    GarbageQuestion,
    GarbageRandom,
    WrongPort,
    CaseChanged,
    CompressionLoop,
    Delayed,
    SendErrors,
    PolicyDropped,
}

impl Event {
    pub const ALL: [Event; 21] = [
        Event::UdpQuery,
        Event::TcpQuery,
        Event::Ignored,
        Event::FormErr,
        Event::Lost,
        Event::Dead,
        Event::QpsDropped,
        Event::QpsRefused,
        Event::ServFailInjected,
        Event::RefusedInjected,
        Event::TruncatedForced,
        Event::TruncatedSize,
        Event::GarbageId,
        Event::GarbageQuestion,
        Event::GarbageRandom,
        Event::WrongPort,
        Event::CaseChanged,
        Event::CompressionLoop,
        Event::Delayed,
        Event::SendErrors,
        Event::PolicyDropped,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Event::UdpQuery => "udp_queries",
            Event::TcpQuery => "tcp_queries",
            Event::Ignored => "ignored",
            Event::FormErr => "formerr",
            Event::Lost => "lost",
            Event::Dead => "dead_dropped",
            Event::QpsDropped => "qps_dropped",
            Event::QpsRefused => "qps_refused",
            Event::ServFailInjected => "servfail_injected",
            Event::RefusedInjected => "refused_injected",
            Event::TruncatedForced => "truncated_forced",
            Event::TruncatedSize => "truncated_size",
            Event::GarbageId => "garbage_id",
            Event::GarbageQuestion => "garbage_question",
            Event::GarbageRandom => "garbage_random",
            Event::WrongPort => "wrong_port",
            Event::CaseChanged => "case_changed",
            Event::CompressionLoop => "compression_loop",
            Event::Delayed => "delayed",
            Event::SendErrors => "send_errors",
            Event::PolicyDropped => "policy_dropped",
        }
    }
}

/// Plain counters owned by one thread; merged when threads finish.
#[derive(Debug, Clone)]
pub struct Counters {
    events: [u64; Event::ALL.len()],
    qtypes: [u64; 256],
    qtype_other: u64,
    rcodes: [u64; 16],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            events: [0; Event::ALL.len()],
            qtypes: [0; 256],
            qtype_other: 0,
            rcodes: [0; 16],
        }
    }
}

impl Counters {
    pub fn add(&mut self, event: Event) {
        self.events[event as usize] += 1;
    }
    pub fn get(&self, event: Event) -> u64 {
        self.events[event as usize]
    }
    pub fn add_qtype(&mut self, qtype: u16) {
        match self.qtypes.get_mut(qtype as usize) {
            Some(n) => *n += 1,
            None => self.qtype_other += 1,
        }
    }
    pub fn add_rcode(&mut self, rcode: u8) {
        self.rcodes[(rcode & 0xF) as usize] += 1;
    }
    pub fn rcode(&self, rcode: u8) -> u64 {
        self.rcodes[(rcode & 0xF) as usize]
    }
    pub fn queries(&self) -> u64 {
        self.get(Event::UdpQuery) + self.get(Event::TcpQuery)
    }

    pub fn merge(&mut self, other: &Counters) {
        for (a, b) in self.events.iter_mut().zip(other.events) {
            *a += b;
        }
        for (a, b) in self.qtypes.iter_mut().zip(other.qtypes) {
            *a += b;
        }
        for (a, b) in self.rcodes.iter_mut().zip(other.rcodes) {
            *a += b;
        }
        self.qtype_other += other.qtype_other;
    }

    /// A serialisable view: non-zero counters only, keyed by name.
    pub fn report(&self) -> CounterReport {
        let mut queries_by_type = BTreeMap::new();
        for (t, &n) in self.qtypes.iter().enumerate().filter(|(_, n)| **n > 0) {
            queries_by_type.insert(RecordType::from(t as u16).to_string(), n);
        }
        if self.qtype_other > 0 {
            queries_by_type.insert("other".to_string(), self.qtype_other);
        }
        let mut rcodes_sent = BTreeMap::new();
        for (r, &n) in self.rcodes.iter().enumerate().filter(|(_, n)| **n > 0) {
            rcodes_sent.insert(Rcode::new(r as u8).name().to_string(), n);
        }
        let events = Event::ALL
            .iter()
            .filter(|e| self.get(**e) > 0)
            .map(|e| (e.name(), self.get(*e)))
            .collect();
        CounterReport {
            events,
            queries_by_type,
            rcodes_sent,
        }
    }
}

/// Counters as printed at exit (`--stats-json` writes the same as JSON).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CounterReport {
    pub events: BTreeMap<&'static str, u64>,
    pub queries_by_type: BTreeMap<String, u64>,
    pub rcodes_sent: BTreeMap<String, u64>,
}

impl std::fmt::Display for CounterReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let join = |m: &mut dyn Iterator<Item = (String, u64)>| {
            m.map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        writeln!(
            f,
            "  queries: {}",
            join(&mut self.queries_by_type.iter().map(|(k, v)| (k.clone(), *v)))
        )?;
        writeln!(
            f,
            "  rcodes:  {}",
            join(&mut self.rcodes_sent.iter().map(|(k, v)| (k.clone(), *v)))
        )?;
        write!(
            f,
            "  events:  {}",
            join(&mut self.events.iter().map(|(k, v)| (k.to_string(), *v)))
        )
    }
}
