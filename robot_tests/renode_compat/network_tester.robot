*** Variables ***
# rawframe answers EtherType 0x88b5 frames addressed to it (52:54:00:12:34:56), swapping the MACs.
${TO_BOARD}                   525400123456 020000000001 88b5 48656c6c6f2066726f6d2074686520746573746572

*** Keywords ***
Create Rawframe Machine
    Execute Command           mach create "server"
    Execute Command           machine LoadPlatformDescription @platforms/boards/stm32f4_discovery-kit.repl
    Execute Command           sysbus LoadELF @${FIRMWARE}/rawframe.elf
    Create Terminal Tester    sysbus.uart0
    ${nic}=                   Create Network Interface Tester    sysbus.ethernet
    RETURN                    ${nic}

*** Test Cases ***
Should Return The Next Outgoing Packet
    Create Rawframe Machine
    ${p}=                     Wait For Outgoing Packet    5
    # rawframe's first frame: a DHCP DISCOVER, broadcast, IPv4, UDP 68 -> 67
    ${head}=                  Evaluate    $p.Bytes[:6].hex()
    Should Be Equal           ${head}    ffffffffffff
    ${type}=                  Evaluate    $p.Bytes[12:14].hex()
    Should Be Equal           ${type}    0800
    Should Be True            ${p.Timestamp} > 0

Should Find A Packet With Bytes At An Index
    Create Rawframe Machine
    # the UDP ports 68 -> 67 at offset 34, the IP protocol (17) at 23 with wildcards around it
    ${p}=                     Wait For Outgoing Packet With Bytes At Index    00440043    34    5    5
    Wait For Outgoing Packet With Bytes At Index    0800__________________11    12    5    5

Should Give Up After Max Packets
    Create Rawframe Machine
    Run Keyword And Expect Error    *Requested packet not received*
    ...                       Wait For Outgoing Packet With Bytes At Index    88b5    12    2    5

Sent Frames Should Reach The Board
    Create Rawframe Machine
    Wait For Line On Uart     rawframe: serving    timeout=20
    Send Frame                ${TO_BOARD}
    ${p}=                     Wait For Outgoing Packet With Bytes At Index    020000000001525400123456 88b5 48656c6c6f    0    10    1
    ${text}=                  Evaluate    $p.Bytes[14:34].decode()
    Should Be Equal           ${text}    Hello from the teste

No Packet Should Fail In Virtual Time
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/shell.elf
    Create Network Interface Tester    sysbus.eth0
    Run Keyword And Expect Error    *No packet received in the expected time frame*    Wait For Outgoing Packet    0.2
    ${t}=                     Get Virtual Time
    Should Be True            0.2 <= ${t} < 0.3
