#include "profile.h"

#include <QRegularExpression>
#include <QStandardPaths>

using namespace Qt::StringLiterals;

namespace parley::ui {

bool Profile::isValidName(const QString &name)
{
    static const QRegularExpression valid(u"^[A-Za-z0-9_-]{1,32}$"_s);
    return name.isEmpty() || valid.match(name).hasMatch();
}

Profile Profile::named(const QString &name)
{
    const QString folder = name.isEmpty() ? u"default"_s : name;
    Profile profile;
    profile.name = name;
    profile.settingsFile = QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation)
        + u"/parley/profiles/"_s + folder + u".ini"_s;
    profile.dataDir = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation)
        + u"/parley/profiles/"_s + folder;
    profile.keychainService = name.isEmpty() ? u"parley"_s : u"parley-"_s + name;
    return profile;
}

} // namespace parley::ui
