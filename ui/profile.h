// A profile is one independent client installation on this machine: its own settings
// file, its own message cache and its own keychain entry, so `parley --profile alice`
// and `parley --profile bob` can run side by side.
#pragma once

#include <QString>

namespace parley::ui {

struct Profile
{
    QString name; // empty: the default profile
    QString settingsFile; // an INI file: server, user name, preferences; never a secret
    QString dataDir; // the message caches (one SQLite file per account)
    QString keychainService; // "parley" or "parley-<name>"

    // The profile's places under the user's standard config and data directories.
    static Profile named(const QString &name);
    // Letters, digits, '-' and '_', 1 to 32 characters; empty is the default profile.
    static bool isValidName(const QString &name);
};

} // namespace parley::ui
