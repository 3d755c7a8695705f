*** Comments ***
A button on a GPIO pin, as Renode suites press one: ``sysbus.<gpio> OnGPIO <pin> true``
drives the input (vboard: the Gpio RPC), an LED tester watches an output pin (gpio1.pin8).
The gpio program (firmware/tests/gpio.c) waits 50 ms of board time for a rising edge on
GPIO1 pin 0.

*** Variables ***
${UART}                       sysbus.uart0

*** Keywords ***
Gpio Program Waiting For Its Button
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/gpio.elf
    Create Terminal Tester    ${UART}
    Wait For Line On Uart     gpio: waiting for the button

*** Test Cases ***
Should Take A Button Press From The Monitor
    Gpio Program Waiting For Its Button
    Execute Command           sysbus.gpio1 OnGPIO 0 true
    Wait For Line On Uart     gpio: button pressed
    Wait For Line On Uart     gpio: done

Should Time Out Without A Press
    Gpio Program Waiting For Its Button
    Wait For Line On Uart     gpio: no button

Should See The LED Pin Driven
    Gpio Program Waiting For Its Button
    Create LED Tester         sysbus.gpio1.pin8
    Assert LED State          true

Should Refuse A Bad OnGPIO Line
    Gpio Program Waiting For Its Button
    Run Keyword And Expect Error    *not a GPIO block*    Execute Command    sysbus.uart0 OnGPIO 0 true
    Run Keyword And Expect Error    *expected OnGPIO PIN true|false*    Execute Command    sysbus.gpio1 OnGPIO 0 maybe
