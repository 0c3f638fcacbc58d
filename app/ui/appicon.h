// The application's icon, drawn rather than shipped as an image so it is sharp at every
// size and device pixel ratio.
#pragma once

#include <QIcon>

namespace parley::ui {

QIcon appIcon();

} // namespace parley::ui
