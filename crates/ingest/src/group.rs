//! A consumer group's committed offsets, for `ingest --group G`: after each batch is
//! durable and published, the next offset of every partition read is committed to the
//! group's coordinator, so the tools operators already use (lag monitors,
//! `kafka-consumer-groups --describe`) see how far the ledger is.
//!
//! The ledger stays the truth: on a restart, reading resumes from the ledger's own
//! offsets (`ingest.json` and the events' provenance), never from the group's; a commit
//! that fails is reported and retried with the next batch, and loses nothing.
//!
//! `ingest` reads every partition itself, so it commits as a standalone consumer does
//! (Kafka's "simple" commits: generation -1, no member id), without joining the group. The
//! wire messages are the `kafka-protocol` crate's (generated from Kafka's own schemas);
//! this module only frames them over TCP, picking for each the highest version the broker
//! and the crate share (ApiVersions), below the versions that name topics by id.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::{
    offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic},
    offset_fetch_request::OffsetFetchRequestTopic,
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, GroupId, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use liveledger_store::{Error, Result};

/// The largest response read (a commit's answer is a few bytes per partition).
const MAX_RESPONSE: usize = 16 << 20;
/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The newest versions used: past them, OffsetCommit and OffsetFetch name topics by id
/// and FindCoordinator takes a batch of keys.
const FIND_COORDINATOR_MAX: i16 = 3;
const OFFSET_COMMIT_MAX: i16 = 8;
const OFFSET_FETCH_MAX: i16 = 7;

fn kafka(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(format!("kafka consumer group: {what}: {e}"))
}

/// One connection to a broker, with the versions it speaks.
struct Conn {
    addr: String,
    stream: TcpStream,
    correlation: i32,
    versions: HashMap<i16, (i16, i16)>,
}

impl Conn {
    async fn open(addr: &str) -> Result<Conn> {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| kafka(addr, "connect timed out"))?
            .map_err(|e| kafka(addr, e))?;
        let mut c = Conn {
            addr: addr.to_owned(),
            stream,
            correlation: 0,
            versions: HashMap::new(),
        };
        // ApiVersions v0: every broker answers it, whatever else it speaks.
        let r: ApiVersionsResponse = c
            .call(ApiKey::ApiVersions, 0, &ApiVersionsRequest::default())
            .await?;
        if let Some(e) = r.error_code.err() {
            return Err(kafka(addr, format!("ApiVersions: {e:?}")));
        }
        c.versions = r
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(c)
    }

    /// The highest version of `key` both the broker and `M` (the crate) speak, up to `cap`.
    fn version<M: Message>(&self, key: ApiKey, cap: i16) -> Result<i16> {
        let (min, max) = self
            .versions
            .get(&(key as i16))
            .copied()
            .ok_or_else(|| kafka(&self.addr, format!("the broker does not speak {key:?}")))?;
        let v = max.min(M::VERSIONS.max).min(cap);
        if v < min.max(M::VERSIONS.min) {
            return Err(kafka(
                &self.addr,
                format!(
                    "no common version of {key:?}: the broker speaks {min}..={max}, this client {}",
                    M::VERSIONS
                ),
            ));
        }
        Ok(v)
    }

    /// Sends one request and reads its response.
    async fn call<Req, Resp>(&mut self, key: ApiKey, version: i16, req: &Req) -> Result<Resp>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("liveledger")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, Req::header_version(version))
            .and_then(|_| req.encode(&mut body, version))
            .map_err(|e| kafka(&self.addr, format!("encoding {key:?}: {e}")))?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        let io = async {
            self.stream.write_all(&frame).await?;
            let len = self.stream.read_i32().await?;
            if len < 0 || len as usize > MAX_RESPONSE {
                return Err(std::io::Error::other(format!(
                    "a response of {len} bytes (at most {MAX_RESPONSE})"
                )));
            }
            let mut buf = vec![0u8; len as usize];
            self.stream.read_exact(&mut buf).await?;
            Ok(buf)
        };
        let buf = tokio::time::timeout(TIMEOUT, io)
            .await
            .map_err(|_| kafka(&self.addr, format!("{key:?} timed out")))?
            .map_err(|e| kafka(&self.addr, format!("{key:?}: {e}")))?;
        let mut buf = Bytes::from(buf);
        let h = ResponseHeader::decode(&mut buf, Resp::header_version(version))
            .map_err(|e| kafka(&self.addr, format!("{key:?} response header: {e}")))?;
        if h.correlation_id != self.correlation {
            return Err(kafka(
                &self.addr,
                format!(
                    "{key:?}: the response is to request {}, expected {}",
                    h.correlation_id, self.correlation
                ),
            ));
        }
        let r = Resp::decode(&mut buf, version)
            .map_err(|e| kafka(&self.addr, format!("{key:?} response: {e}")))?;
        if buf.has_remaining() {
            return Err(kafka(
                &self.addr,
                format!("{key:?}: {} bytes after the response", buf.remaining()),
            ));
        }
        Ok(r)
    }
}

/// A consumer group's offsets, at its coordinator.
pub struct Group {
    group: String,
    brokers: Vec<String>,
    coordinator: Option<Conn>,
}

impl Group {
    /// The group `group`, found through any of `brokers` when first used.
    pub fn new(brokers: &[String], group: &str) -> Result<Group> {
        if group.is_empty() {
            return Err(Error::Usage("--group: the group id is empty".into()));
        }
        Ok(Group {
            group: group.to_owned(),
            brokers: brokers.to_vec(),
            coordinator: None,
        })
    }

    async fn coordinator(&mut self) -> Result<&mut Conn> {
        if self.coordinator.is_none() {
            let mut last = kafka("brokers", "none given");
            for b in &self.brokers {
                match Self::find(b, &self.group).await {
                    Ok(c) => {
                        self.coordinator = Some(c);
                        break;
                    }
                    Err(e) => last = e,
                }
            }
            if self.coordinator.is_none() {
                return Err(last);
            }
        }
        self.coordinator
            .as_mut()
            .ok_or_else(|| kafka(&self.group, "no coordinator"))
    }

    async fn find(bootstrap: &str, group: &str) -> Result<Conn> {
        let mut c = Conn::open(bootstrap).await?;
        let v =
            c.version::<FindCoordinatorRequest>(ApiKey::FindCoordinator, FIND_COORDINATOR_MAX)?;
        let req = FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(group.to_owned()))
            .with_key_type(0);
        let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, v, &req).await?;
        if let Some(e) = r.error_code.err() {
            return Err(kafka(
                bootstrap,
                format!("FindCoordinator {group:?}: {e:?}"),
            ));
        }
        let addr = format!("{}:{}", r.host.as_str(), r.port);
        if addr == bootstrap {
            return Ok(c);
        }
        Conn::open(&addr).await
    }

    /// Commits `next` (partition → the next offset to read) for `topic`. Any error, the
    /// broker's per partition included, fails it; the coordinator is looked up again on
    /// the next call.
    pub async fn commit(&mut self, topic: &str, next: &BTreeMap<i32, i64>) -> Result<()> {
        let r = self.try_commit(topic, next).await;
        if r.is_err() {
            self.coordinator = None;
        }
        r
    }

    async fn try_commit(&mut self, topic: &str, next: &BTreeMap<i32, i64>) -> Result<()> {
        let group = self.group.clone();
        let c = self.coordinator().await?;
        let v = c.version::<OffsetCommitRequest>(ApiKey::OffsetCommit, OFFSET_COMMIT_MAX)?;
        let partitions = next
            .iter()
            .map(|(&p, &n)| {
                OffsetCommitRequestPartition::default()
                    .with_partition_index(p)
                    .with_committed_offset(n)
                    .with_committed_leader_epoch(-1)
                    .with_committed_metadata(Some(StrBytes::from_static_str("liveledger")))
            })
            .collect();
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.clone())))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(StrBytes::default())
            .with_retention_time_ms(-1)
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                .with_partitions(partitions)]);
        let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, v, &req).await?;
        let mut answered = 0;
        for t in &r.topics {
            for p in &t.partitions {
                answered += 1;
                if let Some(e) = p.error_code.err() {
                    return Err(kafka(
                        &c.addr,
                        format!("committing {group:?} {topic}/{}: {e:?}", p.partition_index),
                    ));
                }
            }
        }
        if answered != next.len() {
            return Err(kafka(
                &c.addr,
                format!(
                    "committing {group:?}: {answered} partitions answered of {}",
                    next.len()
                ),
            ));
        }
        Ok(())
    }

    /// The group's committed offsets for `topic`'s `partitions` (`None`: none committed).
    pub async fn committed(
        &mut self,
        topic: &str,
        partitions: &[i32],
    ) -> Result<BTreeMap<i32, Option<i64>>> {
        let group = self.group.clone();
        let c = self.coordinator().await?;
        let v = c.version::<OffsetFetchRequest>(ApiKey::OffsetFetch, OFFSET_FETCH_MAX)?;
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.clone())))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                .with_partition_indexes(partitions.to_vec())]));
        let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, v, &req).await?;
        if let Some(e) = r.error_code.err() {
            return Err(kafka(&c.addr, format!("OffsetFetch {group:?}: {e:?}")));
        }
        let mut out = BTreeMap::new();
        for t in r.topics.iter().filter(|t| t.name.0.as_str() == topic) {
            for p in &t.partitions {
                if let Some(e) = p.error_code.err() {
                    return Err(kafka(
                        &c.addr,
                        format!("OffsetFetch {group:?} {topic}/{}: {e:?}", p.partition_index),
                    ));
                }
                let n = (p.committed_offset >= 0).then_some(p.committed_offset);
                out.insert(p.partition_index, n);
            }
        }
        Ok(out)
    }
}
