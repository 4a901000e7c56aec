// Accuracy recovery without retraining: BatchNorm re-estimation, moment matching and least-squares
// refits of a lite network on calibration data, with a per-site report (calibrate::recover).
#pragma once

#include "surgery/calibrate/lstsq.hpp"
#include "surgery/calibrate/recover.hpp"
#include "surgery/calibrate/sites.hpp"
#include "surgery/calibrate/staged.hpp"
#include "surgery/calibrate/stats.hpp"
