//! The closed sets of words some text columns hold (`rooms.kind`, `messages.kind`,
//! `users.role`, `call_sessions.connection`), as enums, so code compares with a name the
//! compiler checks instead of a string literal. A stored word the enum does not know reads as
//! its default variant.

macro_rules! stored_words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? } default $default:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The word stored for it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }

            /// The variant a stored word stands for.
            pub fn parse(word: &str) -> Self {
                match word {
                    $($word => Self::$variant,)+
                    _ => Self::$default,
                }
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }
    };
}

stored_words! {
    /// `rooms.kind`.
    RoomKind {
        /// The one room of a pair of users (`rooms.direct_key` set).
        Direct = "direct",
        Group = "group",
    } default Group
}

stored_words! {
    /// `messages.kind`.
    MessageKind {
        /// Written by a user; only these may be edited.
        Text = "text",
        /// Written by the server (joins, renames).
        System = "system",
        /// An MLS application message (ciphertext).
        App = "app",
        /// An MLS commit (ciphertext).
        Commit = "commit",
    } default Text
}

stored_words! {
    /// `users.role`.
    UserRole {
        User = "user",
        /// May see instance figures and moderation views.
        Admin = "admin",
    } default User
}

stored_words! {
    /// `call_sessions.connection`: how a participant's media connection is doing, as its client
    /// reports it.
    CallConnection {
        Connecting = "connecting",
        Connected = "connected",
        Reconnecting = "reconnecting",
        Failed = "failed",
    } default Connecting
}

stored_words! {
    /// `call_sessions.leave_reason`: why a session left its call.
    CallLeaveReason {
        /// `leaveCall`.
        Left = "left",
        /// Not heard from for `--call-session-ttl`.
        Timeout = "timeout",
        /// The `callEvents` subscription that held it ended (its socket closed).
        Disconnected = "disconnected",
        /// Its user left the room or was removed from it.
        Removed = "removed",
    } default Left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for kind in [RoomKind::Direct, RoomKind::Group] {
            assert_eq!(RoomKind::parse(kind.as_str()), kind);
        }
        assert_eq!(MessageKind::parse("system"), MessageKind::System);
        assert_eq!(UserRole::parse("nonsense"), UserRole::User);
        let (admin, user) = (String::from("admin"), String::from("user"));
        assert!(admin == UserRole::Admin);
        assert!(user != UserRole::Admin);
        assert!(*"direct" == RoomKind::Direct);
    }
}
