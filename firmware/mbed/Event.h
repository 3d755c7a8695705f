#include "EventQueue.h"
