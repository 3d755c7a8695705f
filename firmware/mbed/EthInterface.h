/* EthInterface (Mbed OS 6 netsocket/EthInterface.h). */
#ifndef MBED_ETHINTERFACE_H
#define MBED_ETHINTERFACE_H

#include "NetworkInterface.h"

class EthInterface : public NetworkInterface {
public:
    EthInterface *ethInterface() override { return this; }
    static EthInterface *get_default_instance();
};

#endif
