/* Mbed OS events umbrella header. */
#ifndef MBED_EVENTS_H
#define MBED_EVENTS_H
#include "EventQueue.h"
#if !defined(MBED_NO_GLOBAL_USING_DIRECTIVE)
using namespace events;
#endif
#endif
