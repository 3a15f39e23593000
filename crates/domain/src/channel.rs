//! The medium of a communication, and how Genesys media types map onto it.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel: expected one of VOICE, CHAT, EMAIL, SMS, VIDEO, OTHER")]
pub struct UnknownChannel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Channel {
    Voice,
    Chat,
    Email,
    Sms,
    /// Added for the Genesys integration (video and screen share).
    Video,
    /// Added for the Genesys integration (co-browse, unknown and future media types).
    Other,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Self::Voice,
        Self::Chat,
        Self::Email,
        Self::Sms,
        Self::Video,
        Self::Other,
    ];

    /// Parses one of our own channel names (any letter case). For Genesys media types use
    /// [`Channel::from_genesys_media_type`], which never fails.
    pub fn parse(input: &str) -> Result<Self, UnknownChannel> {
        Self::ALL
            .into_iter()
            .find(|channel| channel.as_str().eq_ignore_ascii_case(input))
            .ok_or(UnknownChannel)
    }

    /// Parses a list of our channel names (settings' lists), each kept once, in the order given.
    pub fn parse_list<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Result<Vec<Self>, UnknownChannel> {
        let mut channels = Vec::new();
        for name in names {
            let channel = Self::parse(name.as_ref())?;
            if !channels.contains(&channel) {
                channels.push(channel);
            }
        }
        Ok(channels)
    }

    /// The integration spec's mapping of Genesys media types ([`Channel::from_genesys_media_type`]);
    /// public so that what else maps them (result-ingest's migration 000301, in SQL) is tested
    /// against every row.
    pub const GENESYS_MEDIA_TYPES: [(&'static str, Channel); 10] = [
        ("callback", Channel::Voice),
        ("chat", Channel::Chat),
        ("cobrowse", Channel::Other),
        ("email", Channel::Email),
        ("message", Channel::Sms),
        ("screenshare", Channel::Video),
        ("screen share", Channel::Video),
        ("unknown", Channel::Other),
        ("video", Channel::Video),
        ("voice", Channel::Voice),
    ];

    /// The integration spec's mapping, matched in any letter case (Genesys writes media types
    /// lower-case in some APIs and upper-case in others). Unlisted media types become OTHER.
    pub fn from_genesys_media_type(media_type: &str) -> Self {
        Self::GENESYS_MEDIA_TYPES
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(media_type))
            .map_or(Self::Other, |(_, channel)| channel)
    }

    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Voice => "VOICE",
            Self::Chat => "CHAT",
            Self::Email => "EMAIL",
            Self::Sms => "SMS",
            Self::Video => "VIDEO",
            Self::Other => "OTHER",
        }
    }
}

impl TryFrom<String> for Channel {
    type Error = UnknownChannel;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Channel> for &'static str {
    fn from(value: Channel) -> Self {
        value.as_str()
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_list_is_parsed_each_channel_once_and_an_unknown_name_refused() {
        assert_eq!(
            Channel::parse_list(["voice", "CHAT", "Voice"]),
            Ok(vec![Channel::Voice, Channel::Chat])
        );
        assert_eq!(Channel::parse_list(["VOICE", "fax"]), Err(UnknownChannel));
    }

    fn maps(media_type: &str) -> Channel {
        Channel::from_genesys_media_type(media_type)
    }

    #[test]
    fn callback_maps_to_voice() {
        assert_eq!(maps("callback"), Channel::Voice);
        assert_eq!(maps("CALLBACK"), Channel::Voice);
    }

    #[test]
    fn chat_maps_to_chat() {
        assert_eq!(maps("chat"), Channel::Chat);
        assert_eq!(maps("CHAT"), Channel::Chat);
    }

    #[test]
    fn cobrowse_maps_to_other() {
        assert_eq!(maps("cobrowse"), Channel::Other);
        assert_eq!(maps("COBROWSE"), Channel::Other);
    }

    #[test]
    fn email_maps_to_email() {
        assert_eq!(maps("email"), Channel::Email);
        assert_eq!(maps("EMAIL"), Channel::Email);
    }

    #[test]
    fn message_maps_to_sms() {
        assert_eq!(maps("message"), Channel::Sms);
        assert_eq!(maps("MESSAGE"), Channel::Sms);
    }

    #[test]
    fn screenshare_in_both_spellings_maps_to_video() {
        assert_eq!(maps("screenshare"), Channel::Video);
        assert_eq!(maps("SCREENSHARE"), Channel::Video);
        assert_eq!(maps("screen share"), Channel::Video);
        assert_eq!(maps("Screen Share"), Channel::Video);
    }

    #[test]
    fn unknown_maps_to_other() {
        assert_eq!(maps("unknown"), Channel::Other);
        assert_eq!(maps("UNKNOWN"), Channel::Other);
    }

    #[test]
    fn video_maps_to_video() {
        assert_eq!(maps("video"), Channel::Video);
        assert_eq!(maps("VIDEO"), Channel::Video);
    }

    #[test]
    fn voice_maps_to_voice() {
        assert_eq!(maps("voice"), Channel::Voice);
        assert_eq!(maps("VOICE"), Channel::Voice);
    }

    #[test]
    fn anything_else_maps_to_other() {
        for other in [
            "",
            "internalmessage",
            "screenmonitoring",
            "fax",
            "sms",
            "telepathy",
            " voice",
        ] {
            assert_eq!(maps(other), Channel::Other, "{other:?}");
        }
    }

    #[test]
    fn own_names_parse_strictly() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Ok(channel));
            assert_eq!(Channel::parse(&channel.as_str().to_lowercase()), Ok(channel));
        }
        assert_eq!(Channel::parse("callback"), Err(UnknownChannel));
        assert_eq!(Channel::parse("FAX"), Err(UnknownChannel));
    }

    proptest! {
        #[test]
        fn mapping_ignores_letter_case(index in 0usize..10, mask in proptest::collection::vec(any::<bool>(), 12)) {
            let names = ["callback", "chat", "cobrowse", "email", "message", "screenshare",
                "screen share", "unknown", "video", "voice"];
            let name = names[index];
            let mixed: String = name.chars().zip(mask.into_iter().chain(std::iter::repeat(false)))
                .map(|(c, upper)| if upper { c.to_ascii_uppercase() } else { c }).collect();
            prop_assert_eq!(maps(&mixed), maps(name));
        }

        #[test]
        fn mapping_is_total(input in ".{0,30}") {
            let _ = maps(&input);
        }
    }
}
