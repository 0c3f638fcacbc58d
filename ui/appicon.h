// The application's icon (resources/icons): every PNG size built in, so it is sharp at
// each size and device pixel ratio.
#pragma once

#include <QIcon>

namespace parley::ui {

QIcon appIcon();

} // namespace parley::ui
