/* Mbed OS netsocket umbrella header. */
#ifndef MBED_NSAPI_H
#define MBED_NSAPI_H

#include "nsapi_types.h"
#include "SocketAddress.h"
#include "NetworkInterface.h"
#include "EthernetInterface.h"
#include "Socket.h"
#include "InternetSocket.h"
#include "TCPSocket.h"
#include "TCPServer.h"
#include "UDPSocket.h"

#endif
