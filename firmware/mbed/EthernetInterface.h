/* EthernetInterface (Mbed OS 6 netsocket/EthernetInterface.h): the LAN9118 via
 * vnet. Every instance drives the same single vnet interface: connect() on an
 * interface that is already up returns NSAPI_ERROR_IS_CONNECTED. */
#ifndef MBED_ETHERNETINTERFACE_H
#define MBED_ETHERNETINTERFACE_H

#include "EthInterface.h"

class EthernetInterface : public EthInterface {
public:
    EthernetInterface() = default;
    nsapi_error_t connect() override;
    nsapi_error_t disconnect() override;
};

#endif
