#include "appicon.h"

#include <QString>

using namespace Qt::StringLiterals;

namespace parley::ui {

QIcon appIcon()
{
    // The PNG sizes rendered from resources/icons/parley.svg, built into the binary; an
    // installed icon theme's "parley" (the .deb installs one) wins where there is one.
    QIcon icon;
    for (const int size : {16, 24, 32, 48, 64, 128, 256, 512})
        icon.addFile(u":/icons/hicolor/%1x%1/apps/parley.png"_s.arg(size), QSize(size, size));
    return QIcon::fromTheme(u"parley"_s, icon);
}

} // namespace parley::ui
