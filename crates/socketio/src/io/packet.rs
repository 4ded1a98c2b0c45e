//! Socket.IO v5 packets (<https://github.com/socketio/socket.io-protocol>): decoded with
//! `socketioxide-parser-common` (which also gathers a packet's binary attachments), checked
//! here against what the protocol allows, and encoded here straight into an Engine.IO frame
//! (the crate's encoder returns the packet without the Engine.IO `4`, and panics on a binary
//! payload, so a broadcast would be copied once more and a mistake would crash the server).
//!
//! Format: `<type>[<attachments>-][<namespace>,][<ack id>][JSON payload]`.

use crate::engine::Outgoing;
use bytes::Bytes;
use serde_json::Value;
use socketioxide_core::Value as RawValue;
use socketioxide_core::packet::{Packet as RawPacket, PacketData};
use socketioxide_core::parser::{Parse, ParseConfig, ParseError, ParserState};
use socketioxide_parser_common::CommonParser;
use std::fmt::Write as _;

/// Packet types.
pub(crate) const CONNECT: char = '0';
pub(crate) const DISCONNECT: char = '1';
pub(crate) const EVENT: char = '2';
pub(crate) const ACK: char = '3';
pub(crate) const CONNECT_ERROR: char = '4';
pub(crate) const BINARY_EVENT: char = '5';
pub(crate) const BINARY_ACK: char = '6';

/// Event names a client may not send: the reference implementation keeps them for its own
/// lifecycle events.
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// A checked inbound packet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inbound {
    /// CONNECT with the client's auth payload (an object), if it sent one.
    Connect {
        nsp: String,
        auth: Option<Value>,
    },
    Disconnect {
        nsp: String,
    },
    Event {
        nsp: String,
        name: String,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
        ack: Option<i64>,
    },
    Ack {
        nsp: String,
        id: i64,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
    },
}

/// Why a packet is refused; the connection is closed for it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum Malformed {
    #[error("unparsable packet: {0}")]
    Parse(String),
    #[error("a CONNECT payload must be an object")]
    ConnectPayload,
    #[error("an EVENT payload must be a non-empty array starting with an event name")]
    EventPayload,
    #[error("an ACK payload must be an array")]
    AckPayload,
    #[error("a client does not send CONNECT_ERROR")]
    ConnectError,
}

/// What a decoder makes of one Engine.IO message.
pub(crate) enum Decoded {
    Packet(Inbound),
    /// A binary packet whose attachments are still to come.
    Partial,
}

/// Decodes the packets of one client, keeping a binary packet until its attachments arrived.
pub(crate) struct Decoder {
    config: ParseConfig,
    state: ParserState,
}

impl Decoder {
    pub(crate) fn new(max_attachments: usize, max_attachment_bytes: usize) -> Self {
        Self {
            config: ParseConfig {
                max_incoming_binaries: max_attachments,
                max_incoming_binary_buf_size: max_attachment_bytes,
                ..ParseConfig::default()
            },
            state: ParserState::default(),
        }
    }

    pub(crate) fn text(&self, text: &str) -> Result<Decoded, Malformed> {
        let parsed = CommonParser.decode_str(
            &self.config,
            &self.state,
            engineioxide_core::Str::copy_from_slice(text),
        );
        self.finish(parsed)
    }

    pub(crate) fn binary(&self, data: Bytes) -> Result<Decoded, Malformed> {
        let parsed = CommonParser.decode_bin(&self.config, &self.state, data);
        self.finish(parsed)
    }

    fn finish(&self, parsed: Result<RawPacket, ParseError>) -> Result<Decoded, Malformed> {
        match parsed {
            Ok(packet) => check(packet).map(Decoded::Packet),
            Err(ParseError::NeedsMoreBinaryData) => Ok(Decoded::Partial),
            Err(err) => Err(Malformed::Parse(err.to_string())),
        }
    }
}

fn namespace(nsp: &str) -> String {
    if nsp.is_empty() {
        "/".to_owned()
    } else {
        nsp.to_owned()
    }
}

/// The JSON text and attachments of a raw payload.
fn payload(value: RawValue) -> Result<(String, Vec<Bytes>), Malformed> {
    match value {
        RawValue::Str(text, attachments) => Ok((
            text.as_str().to_owned(),
            attachments.map(Vec::from).unwrap_or_default(),
        )),
        RawValue::Bytes(_) => Err(Malformed::Parse("binary payload".into())),
    }
}

fn array(text: &str) -> Option<Vec<Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Array(items)) => Some(items),
        _ => None,
    }
}

fn check(packet: RawPacket) -> Result<Inbound, Malformed> {
    let nsp = namespace(&packet.ns);
    match packet.inner {
        PacketData::Connect(None) => Ok(Inbound::Connect { nsp, auth: None }),
        PacketData::Connect(Some(value)) => {
            let (text, _) = payload(value)?;
            match serde_json::from_str::<Value>(&text) {
                Ok(auth @ Value::Object(_)) => Ok(Inbound::Connect {
                    nsp,
                    auth: Some(auth),
                }),
                _ => Err(Malformed::ConnectPayload),
            }
        }
        PacketData::Disconnect => Ok(Inbound::Disconnect { nsp }),
        PacketData::Event(value, ack) | PacketData::BinaryEvent(value, ack) => {
            let (text, attachments) = payload(value)?;
            let mut args = array(&text).ok_or(Malformed::EventPayload)?;
            let name = match args.first() {
                Some(Value::String(name)) if !RESERVED_EVENTS.contains(&name.as_str()) => {
                    name.clone()
                }
                _ => return Err(Malformed::EventPayload),
            };
            args.remove(0);
            Ok(Inbound::Event {
                nsp,
                name,
                args,
                attachments,
                ack,
            })
        }
        PacketData::EventAck(value, id) | PacketData::BinaryAck(value, id) => {
            let (text, attachments) = payload(value)?;
            let args = array(&text).ok_or(Malformed::AckPayload)?;
            Ok(Inbound::Ack {
                nsp,
                id,
                args,
                attachments,
            })
        }
        PacketData::ConnectError(_) => Err(Malformed::ConnectError),
    }
}

/// Writes one packet as the text of an Engine.IO message (`4` first).
fn frame(
    kind: char,
    nsp: &str,
    attachments: usize,
    ack: Option<i64>,
    payload: Option<&str>,
) -> String {
    let mut text = String::with_capacity(nsp.len() + payload.map_or(0, str::len) + 24);
    text.push('4');
    text.push(kind);
    if kind == BINARY_EVENT || kind == BINARY_ACK {
        let _ = write!(text, "{attachments}-");
    }
    if nsp != "/" {
        text.push_str(nsp);
        text.push(',');
    }
    if let Some(id) = ack {
        let _ = write!(text, "{id}");
    }
    if let Some(payload) = payload {
        text.push_str(payload);
    }
    text
}

/// `CONNECT` accepted, with the socket's id.
pub(crate) fn connect(nsp: &str, sid: &str) -> Outgoing {
    let payload = serde_json::json!({ "sid": sid }).to_string();
    Outgoing::from_text(frame(CONNECT, nsp, 0, None, Some(&payload)), Vec::new())
}

/// `CONNECT_ERROR` with a message the client can show, and details it can act on.
pub(crate) fn connect_error(nsp: &str, message: &str, data: Option<&Value>) -> Outgoing {
    let payload = match data {
        Some(data) => serde_json::json!({ "message": message, "data": data }),
        None => serde_json::json!({ "message": message }),
    }
    .to_string();
    Outgoing::from_text(
        frame(CONNECT_ERROR, nsp, 0, None, Some(&payload)),
        Vec::new(),
    )
}

pub(crate) fn disconnect(nsp: &str) -> Outgoing {
    Outgoing::from_text(frame(DISCONNECT, nsp, 0, None, None), Vec::new())
}

/// `EVENT` (or `BINARY_EVENT` with attachments): `[name, ...args]`.
pub(crate) fn event(
    nsp: &str,
    name: &str,
    args: &[Value],
    attachments: Vec<Bytes>,
    ack: Option<i64>,
) -> Outgoing {
    let mut items = Vec::with_capacity(args.len() + 1);
    items.push(Value::String(name.to_owned()));
    items.extend_from_slice(args);
    let payload = Value::Array(items).to_string();
    let kind = if attachments.is_empty() {
        EVENT
    } else {
        BINARY_EVENT
    };
    Outgoing::from_text(
        frame(kind, nsp, attachments.len(), ack, Some(&payload)),
        attachments,
    )
}

/// `EVENT` whose payload (`[name, ...args]`) was serialised by the caller already.
pub(crate) fn event_json(nsp: &str, payload_json: &str) -> Outgoing {
    Outgoing::from_text(frame(EVENT, nsp, 0, None, Some(payload_json)), Vec::new())
}

/// `ACK` (or `BINARY_ACK` with attachments) for the client's event `id`.
pub(crate) fn ack(nsp: &str, id: i64, args: &[Value], attachments: Vec<Bytes>) -> Outgoing {
    let payload = Value::Array(args.to_vec()).to_string();
    let kind = if attachments.is_empty() {
        ACK
    } else {
        BINARY_ACK
    };
    Outgoing::from_text(
        frame(kind, nsp, attachments.len(), Some(id), Some(&payload)),
        attachments,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(text: &str) -> Result<Inbound, Malformed> {
        match Decoder::new(10, 1 << 20).text(text)? {
            Decoded::Packet(packet) => Ok(packet),
            Decoded::Partial => panic!("partial"),
        }
    }

    #[test]
    fn the_specs_encoding_examples_are_written_as_the_spec_writes_them() {
        // Each frame is an Engine.IO message: `4`, then the packet.
        assert_eq!(&*connect("/", "abc").text, r#"40{"sid":"abc"}"#);
        assert_eq!(
            &*connect("/admin", "oSO0OpakMV_3jnilAAAA").text,
            r#"40/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#
        );
        assert_eq!(
            &*connect_error("/", "Not authorized", None).text,
            r#"44{"message":"Not authorized"}"#
        );
        assert_eq!(
            &*connect_error("/random", "Invalid namespace", None).text,
            r#"44/random,{"message":"Invalid namespace"}"#
        );
        assert_eq!(&*event("/", "foo", &[], vec![], None).text, r#"42["foo"]"#);
        assert_eq!(
            &*event("/admin", "bar", &[], vec![], None).text,
            r#"42/admin,["bar"]"#
        );
        assert_eq!(
            &*event("/", "foo", &[], vec![], Some(12)).text,
            r#"4212["foo"]"#
        );
        assert_eq!(
            &*ack("/admin", 13, &[json!("bar")], vec![]).text,
            r#"43/admin,13["bar"]"#
        );
        let placeholder = json!({"_placeholder": true, "num": 0});
        let binary = event(
            "/",
            "baz",
            std::slice::from_ref(&placeholder),
            vec![Bytes::from_static(&[1, 2, 3, 4])],
            None,
        );
        assert_eq!(
            &*binary.text,
            r#"451-["baz",{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(binary.attachments.as_deref().map(<[_]>::len), Some(1));
        let binary_ack = ack(
            "/",
            15,
            &[json!("bar"), placeholder],
            vec![Bytes::from_static(&[1, 2, 3, 4])],
        );
        assert_eq!(
            &*binary_ack.text,
            r#"461-15["bar",{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(&*disconnect("/").text, "41");
        assert_eq!(&*disconnect("/admin").text, "41/admin,");
    }

    #[test]
    fn the_specs_decoding_examples_read_back() {
        assert_eq!(
            decode("0"),
            Ok(Inbound::Connect {
                nsp: "/".into(),
                auth: None
            })
        );
        assert_eq!(
            decode(r#"0/admin,{"token":"123"}"#),
            Ok(Inbound::Connect {
                nsp: "/admin".into(),
                auth: Some(json!({"token": "123"}))
            })
        );
        // Some clients leave the comma out at the end of a packet.
        assert_eq!(
            decode("0/custom"),
            Ok(Inbound::Connect {
                nsp: "/custom".into(),
                auth: None
            })
        );
        assert_eq!(
            decode(r#"212["foo"]"#),
            Ok(Inbound::Event {
                nsp: "/".into(),
                name: "foo".into(),
                args: vec![],
                attachments: vec![],
                ack: Some(12)
            })
        );
        assert_eq!(
            decode(r#"3/admin,13["bar"]"#),
            Ok(Inbound::Ack {
                nsp: "/admin".into(),
                id: 13,
                args: vec![json!("bar")],
                attachments: vec![]
            })
        );
        assert_eq!(
            decode("1/admin,"),
            Ok(Inbound::Disconnect {
                nsp: "/admin".into()
            })
        );
    }

    #[test]
    fn binary_packets_wait_for_their_attachments() {
        let decoder = Decoder::new(10, 1 << 20);
        let header =
            r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert!(matches!(decoder.text(header), Ok(Decoded::Partial)));
        assert!(matches!(
            decoder.binary(Bytes::from_static(&[1, 2])),
            Ok(Decoded::Partial)
        ));
        let Ok(Decoded::Packet(Inbound::Event {
            nsp,
            name,
            attachments,
            ..
        })) = decoder.binary(Bytes::from_static(&[3, 4]))
        else {
            panic!("complete")
        };
        assert_eq!((nsp.as_str(), name.as_str()), ("/admin", "baz"));
        assert_eq!(
            attachments,
            [Bytes::from_static(&[1, 2]), Bytes::from_static(&[3, 4])]
        );
        // An attachment nobody announced.
        assert!(decoder.binary(Bytes::from_static(&[5])).is_err());
        // More attachments than allowed.
        let few = Decoder::new(1, 1 << 20);
        assert!(few.text(header).is_err());
    }

    #[test]
    fn payloads_the_protocol_forbids_are_malformed() {
        for (text, why) in [
            ("abc", "unknown packet type"),
            ("2{}", "an event payload must be an array"),
            ("2[]", "an event needs a name"),
            ("2[1]", "an event name is a string"),
            (r#"2["disconnect"]"#, "reserved event name"),
            (r#"2abc["message-with-ack",1]"#, "invalid ack id"),
            ("3", "an ack needs its id"),
            ("31{}", "an ack payload must be an array"),
            (r#"4{"message":"x"}"#, "clients do not send CONNECT_ERROR"),
            ("0[1]", "a connect payload is an object"),
            ("9", "unknown packet type"),
        ] {
            assert!(decode(text).is_err(), "{text}: {why}");
        }
    }
}
