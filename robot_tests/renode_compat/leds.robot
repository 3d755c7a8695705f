*** Variables ***
${LED}                        sysbus.fpgaio.led0

*** Keywords ***
Shell With LED Tester
    Execute Command           mach create
    Execute Command           machine LoadPlatformDescription @platforms/boards/stm32f4_discovery-kit.repl
    Execute Command           sysbus LoadELF @${FIRMWARE}/shell.elf
    Create Terminal Tester    sysbus.uart0
    ${led}=                   Create LED Tester    ${LED}
    Wait For Prompt On Uart   shell>
    RETURN                    ${led}

*** Test Cases ***
Should Assert The LED State
    Shell With LED Tester
    Assert LED State          false
    Run Keyword And Expect Error    *LED assertion not met*    Assert LED State    true
    Write Line To Uart        led on    waitForEcho=false
    Assert LED State          true    timeout=0.1
    Assert LED State          true    timeout=0

Timeout Zero Should Not Run The Board
    Shell With LED Tester
    Write Line To Uart        led on    waitForEcho=false
    Run Keyword And Expect Error    *not on within 0 s*    Assert LED State    true    timeout=0

Should See The Demo Blink
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/demo.elf
    Create LED Tester         ${LED}    defaultTimeout=1
    Assert LED Is Blinking    testDuration=0.45    onDuration=0.1    offDuration=0.1

Should See The Shell Blink At Its Own Pace
    Shell With LED Tester
    Write Line To Uart        blink 8 50
    Assert LED Is Blinking    0.4    0.05    0.05    tolerance=0.05
    Write Line To Uart        blink 8 50
    Run Keyword And Expect Error    *out of specified range*
    ...                       Assert LED Is Blinking    0.4    0.1    0.1

A Steady LED Is Not Blinking
    Shell With LED Tester
    Run Keyword And Expect Error    *LED state never changed*    Assert LED Is Blinking    0.2    0.05    0.05

Should Measure The Duty Cycle
    Shell With LED Tester
    Write Line To Uart        blink 8 50
    Assert LED Duty Cycle     0.4    0.5    tolerance=0.1

Assert And Hold Should Fail When The LED Changes
    Shell With LED Tester
    Write Line To Uart        led on
    Assert And Hold LED State    true    0.1    0.2
    Write Line To Uart        blink 2 50
    Run Keyword And Expect Error    *LED changed state*    Assert And Hold LED State    true    0    0.2

A GPIO Pin Should Be An LED
    Shell With LED Tester
    ${pin}=                   Create LED Tester    sysbus.gpio0.pin5
    Assert LED State          false    testerId=${pin}
    Write Line To Uart        gpio 5 on
    Assert LED State          true    timeout=0.1    testerId=${pin}
    Write Line To Uart        gpio 5 off
    Assert LED State          false    timeout=0.1    testerId=${pin}

An Unknown LED Should Fail Naming The LEDs
    Shell With LED Tester
    Run Keyword And Expect Error    *no LED 'sysbus.gpio.led9'*fpgaio.led0*    Create LED Tester    sysbus.gpio.led9
