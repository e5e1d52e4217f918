//! Turns one query datagram into the packets a simulated resolver sends back.
//!
//! Answers are encoded once per (name, type) with hickory-proto into a template and cached;
//! each reply copies the template and patches the id, the RD bit and the question name (so the
//! client's 0x20 case comes back as sent). This keeps the sim far faster than the clients it
//! is measured against.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::RecordType;

use super::counters::{Counters, Event};
use super::faults::{AnswerFaults, Fate, FaultState, Override};
use super::world::{Policy, Zones, resolve};
use crate::wire::{self, CLASSIC_UDP_LIMIT, Flags, HEADER_LEN, MessageView};

/// The sim's own EDNS0 UDP payload size, Unbound's default (`max-udp-size: 1232`, DNS Flag
/// Day 2020).
pub const SIM_EDNS_UDP_SIZE: u16 = 1232;

/// Templates kept before the cache is cleared; bounds memory on the synthetic world.
const TEMPLATE_CACHE_LIMIT: usize = 1 << 18;

/// How a query arrived; truncation and UDP faults apply only to UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// One packet to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub bytes: Vec<u8>,
    /// Send from the listener's second socket (a wrong source port).
    pub from_wrong_port: bool,
}

/// The packets answering one query and when to send them.
#[derive(Debug, Default)]
pub struct Response {
    pub packets: Vec<Packet>,
    pub delay: Duration,
}

/// Encoded answers keyed by (lower-cased wire name, qtype).
type TemplateCache = HashMap<(Box<[u8]>, u16), Arc<[u8]>>;

/// Answers queries from a world, with a per-thread template cache.
pub struct Responder {
    zones: Arc<dyn Zones>,
    templates: TemplateCache,
}

impl Responder {
    pub fn new(zones: Arc<dyn Zones>) -> Self {
        Responder {
            zones,
            templates: HashMap::new(),
        }
    }

    /// Handles one datagram (UDP) or message (TCP). `faults` decides the fate of UDP queries;
    /// TCP queries only count towards `die-after-queries`.
    pub fn respond(
        &mut self,
        query: &[u8],
        transport: Transport,
        faults: &mut FaultState,
        now: Instant,
        counters: &mut Counters,
    ) -> Response {
        let mut response = Response::default();
        let view = match MessageView::parse(query) {
            Ok(v) if !v.flags.is_response() => v,
            Ok(_) | Err(wire::WireError::ShortHeader) => {
                counters.add(Event::Ignored);
                return response;
            }
            Err(_) => {
                counters.add(Event::FormErr);
                counters.add_rcode(1);
                response.packets.push(Packet {
                    bytes: formerr(query),
                    from_wrong_port: false,
                });
                return response;
            }
        };
        counters.add(match transport {
            Transport::Udp => Event::UdpQuery,
            Transport::Tcp => Event::TcpQuery,
        });
        counters.add_qtype(view.question.qtype);
        let answer_faults = match transport {
            Transport::Tcp => {
                faults.note_tcp_query();
                AnswerFaults::default()
            }
            Transport::Udp => match faults.decide_udp(now) {
                Fate::Answer(f) => f,
                Fate::Lost => return counted(response, counters, Event::Lost),
                Fate::Dead => return counted(response, counters, Event::Dead),
                Fate::OverLimitDropped => return counted(response, counters, Event::QpsDropped),
            },
        };
        let mut reply = match answer_faults.rcode_override {
            Some(why) => {
                counters.add(match why {
                    Override::ServFail => Event::ServFailInjected,
                    Override::Refused => Event::RefusedInjected,
                    Override::OverLimitRefused => Event::QpsRefused,
                });
                let rcode = if why == Override::ServFail {
                    ResponseCode::ServFail
                } else {
                    ResponseCode::Refused
                };
                header_only(query, &view, u16::from(rcode) as u8)
            }
            None if view.flags.opcode() != 0 => header_only(query, &view, 4),
            None if view.question.qclass != 1 => header_only(query, &view, 5),
            None => match self.answer(query, &view) {
                Some(reply) => reply,
                None => return counted(response, counters, Event::PolicyDropped),
            },
        };
        // No room for the OPT record in a message already at the 64 KiB limit (hickory cut it
        // there, with TC): its length must still fit the TCP length prefix.
        let room = reply.len() + wire::OPT_LEN <= usize::from(u16::MAX);
        if let Some(client_size) = view.edns_udp_size
            && room
        {
            wire::push_opt(&mut reply, SIM_EDNS_UDP_SIZE);
            bump_count(&mut reply, 10);
            if transport == Transport::Udp {
                let limit =
                    (client_size as usize).clamp(CLASSIC_UDP_LIMIT, SIM_EDNS_UDP_SIZE as usize);
                self.truncate_if(
                    &mut reply,
                    &view,
                    answer_faults.force_truncation,
                    limit,
                    counters,
                );
            }
        } else if transport == Transport::Udp {
            self.truncate_if(
                &mut reply,
                &view,
                answer_faults.force_truncation,
                CLASSIC_UDP_LIMIT,
                counters,
            );
        }
        if answer_faults.compression_loop {
            counters.add(Event::CompressionLoop);
            compression_loop(&mut reply, &view);
        }
        if answer_faults.case_change {
            counters.add(Event::CaseChanged);
            change_case(
                &mut reply[HEADER_LEN..HEADER_LEN + view.question.name_wire.len()],
                faults,
            );
        }
        counters.add_rcode(
            Flags(u16::from_be_bytes([reply[2], reply[3]]))
                .rcode()
                .value(),
        );
        add_forgeries(
            &mut response,
            &reply,
            &view,
            &answer_faults,
            faults,
            counters,
        );
        response.packets.push(Packet {
            bytes: reply,
            from_wrong_port: false,
        });
        if !answer_faults.delay.is_zero() {
            counters.add(Event::Delayed);
            response.delay = answer_faults.delay;
        }
        response
    }

    /// The full answer from the world, built from the cached template; `None` when a `deny`
    /// policy drops the query.
    fn answer(&mut self, query: &[u8], view: &MessageView<'_>) -> Option<Vec<u8>> {
        let key_name: Box<[u8]> = view
            .question
            .name_wire
            .to_ascii_lowercase()
            .into_boxed_slice();
        let key = (key_name, view.question.qtype);
        let template = match self.templates.get(&key) {
            Some(t) => t.clone(),
            None => {
                let t: Arc<[u8]> = encode_template(&*self.zones, view).into();
                if self.templates.len() >= TEMPLATE_CACHE_LIMIT {
                    self.templates.clear();
                }
                self.templates.insert(key, t.clone());
                t
            }
        };
        self.patch(template.to_vec(), query, view)
    }

    /// Turns a template into the reply to `query`: its id, its RD bit, its question's case.
    fn patch(&self, mut reply: Vec<u8>, query: &[u8], view: &MessageView<'_>) -> Option<Vec<u8>> {
        if reply.is_empty() {
            return None;
        }
        reply[0..2].copy_from_slice(&view.id.to_be_bytes());
        reply[2] |= (view.flags.0 >> 8) as u8 & (Flags::RD >> 8) as u8;
        if view.flags.0 & Flags::RD == 0 {
            // An iterative resolver (Unbound stubbed to the sim, scripts/bench-farm.sh) asks
            // without RD: answer as the world's authority, or it calls the sim recursion-lame.
            reply[2] |= (Flags::AA >> 8) as u8;
            reply[3] &= !(Flags::RA as u8);
        }
        // The template's question was encoded from the same labels, so it has the same length:
        // copy the client's bytes to echo its case.
        let q = HEADER_LEN..view.question_end;
        if reply.len() >= q.end {
            reply[q.clone()].copy_from_slice(&query[q]);
        }
        Some(reply)
    }

    fn truncate_if(
        &self,
        reply: &mut Vec<u8>,
        view: &MessageView<'_>,
        forced: bool,
        limit: usize,
        counters: &mut Counters,
    ) {
        let too_big = reply.len() > limit;
        if !forced && !too_big {
            return;
        }
        counters.add(if too_big {
            Event::TruncatedSize
        } else {
            Event::TruncatedForced
        });
        let had_opt = view.edns_udp_size.is_some();
        reply.truncate(view.question_end);
        reply[2] |= (Flags::TC >> 8) as u8;
        reply[6..12].copy_from_slice(&[0; 6]);
        if had_opt {
            wire::push_opt(reply, SIM_EDNS_UDP_SIZE);
            bump_count(reply, 10);
        }
    }
}

fn counted(response: Response, counters: &mut Counters, event: Event) -> Response {
    counters.add(event);
    response
}

/// Encodes the resolver's answer with hickory-proto: id 0, RD clear (both patched per reply).
/// An empty template means "drop" (a `deny` policy).
fn encode_template(zones: &dyn Zones, view: &MessageView<'_>) -> Vec<u8> {
    let qtype = RecordType::from(view.question.qtype);
    let Some(qname) = view.question.name() else {
        return header_only_template(view, 1);
    };
    match zones.policy(&qname) {
        Some(Policy::Deny) => return Vec::new(),
        Some(Policy::Refuse) => return header_only_template(view, 5),
        Some(Policy::ServFail) => return header_only_template(view, 2),
        None => {}
    }
    let answer = resolve(zones, &qname, qtype);
    let mut msg = Message::new(0, MessageType::Response, OpCode::Query);
    msg.metadata.recursion_available = true;
    msg.metadata.response_code = answer.rcode;
    msg.add_query(Query::query(qname, qtype));
    msg.add_answers(answer.answers);
    msg.add_authorities(answer.authorities);
    msg.to_vec()
        .unwrap_or_else(|_| header_only_template(view, 2))
}

fn header_only_template(view: &MessageView<'_>, rcode: u8) -> Vec<u8> {
    let mut out = vec![0u8; HEADER_LEN];
    out[2] = (Flags::QR >> 8) as u8;
    out[3] = (Flags::RA as u8) | rcode;
    out[5] = 1;
    let mut name = view.question.name_wire.to_vec();
    out.append(&mut name);
    out.extend_from_slice(&view.question.qtype.to_be_bytes());
    out.extend_from_slice(&view.question.qclass.to_be_bytes());
    out
}

/// A reply carrying only the header and the client's question, with `rcode`.
fn header_only(query: &[u8], view: &MessageView<'_>, rcode: u8) -> Vec<u8> {
    let mut out = query[..view.question_end].to_vec();
    let opcode_rd = query[2] & 0x79;
    out[2] = (Flags::QR >> 8) as u8 | opcode_rd;
    out[3] = Flags::RA as u8 | rcode;
    out[6..12].copy_from_slice(&[0; 6]);
    out
}

/// FORMERR for a query whose header is readable but whose question is not.
fn formerr(query: &[u8]) -> Vec<u8> {
    let mut out = query[..HEADER_LEN].to_vec();
    out[2] = (Flags::QR >> 8) as u8 | (query[2] & 0x79);
    out[3] = Flags::RA as u8 | 1;
    out[4..12].copy_from_slice(&[0; 8]);
    out
}

/// Adds one to the big-endian count at `at` (10 = ARCOUNT).
fn bump_count(msg: &mut [u8], at: usize) {
    let n = u16::from_be_bytes([msg[at], msg[at + 1]]).wrapping_add(1);
    msg[at..at + 2].copy_from_slice(&n.to_be_bytes());
}

/// Flips the case of letters at random; at least one letter changes when there is one.
fn change_case(name: &mut [u8], faults: &mut FaultState) {
    let mut bits = faults.random_u64();
    let mut changed = false;
    for b in name.iter_mut().filter(|b| b.is_ascii_alphabetic()) {
        if bits & 1 == 1 {
            *b ^= 0x20;
            changed = true;
        }
        bits = bits.rotate_right(1);
    }
    if !changed && let Some(b) = name.iter_mut().find(|b| b.is_ascii_alphabetic()) {
        *b ^= 0x20;
    }
}

/// Replaces everything after the question with one A record whose owner name is the label
/// `a` followed by a compression pointer back to that label: a name without end, which a
/// parser must refuse rather than follow.
fn compression_loop(reply: &mut Vec<u8>, view: &MessageView<'_>) {
    reply.truncate(view.question_end);
    reply[6..12].copy_from_slice(&[0, 1, 0, 0, 0, 0]);
    let at = reply.len() as u16;
    reply.extend_from_slice(&[1, b'a', 0xC0 | (at >> 8) as u8, at as u8]);
    reply.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
}

/// Forged packets sent ahead of the genuine reply: a validating client must ignore them and
/// still take the genuine one.
fn add_forgeries(
    response: &mut Response,
    reply: &[u8],
    view: &MessageView<'_>,
    f: &AnswerFaults,
    faults: &mut FaultState,
    counters: &mut Counters,
) {
    if f.garbage_id {
        counters.add(Event::GarbageId);
        let mut bytes = reply.to_vec();
        bytes[0] ^= 0x5A;
        response.packets.push(Packet {
            bytes,
            from_wrong_port: false,
        });
    }
    if f.garbage_question {
        counters.add(Event::GarbageQuestion);
        let mut bytes = reply.to_vec();
        let name = HEADER_LEN..HEADER_LEN + view.question.name_wire.len();
        match bytes[name.clone()]
            .iter()
            .position(|b| b.is_ascii_alphanumeric() && *b != b'x')
        {
            // Not just a case change: a different letter makes a different name.
            Some(i) => bytes[name.start + i] = b'x',
            None => bytes[name.end + 1] ^= 0x01,
        }
        response.packets.push(Packet {
            bytes,
            from_wrong_port: false,
        });
    }
    if f.garbage_random {
        counters.add(Event::GarbageRandom);
        let len = 12 + (faults.random_u64() % 200) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| faults.random_u64() as u8).collect();
        bytes[0..2].copy_from_slice(&view.id.to_be_bytes());
        response.packets.push(Packet {
            bytes,
            from_wrong_port: false,
        });
    }
    if f.wrong_port {
        counters.add(Event::WrongPort);
        response.packets.push(Packet {
            bytes: reply.to_vec(),
            from_wrong_port: true,
        });
    }
}
