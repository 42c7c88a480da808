/*
 * Common passwords the password policy (password-policy.ts) refuses, after the same normalisation it applies to a
 * candidate (lower case; spaces, dots, dashes and underscores dropped; up to 6 digits or symbols trimmed from each
 * end; common letter-for-digit swaps undone), so `Password2024!`, `p@ssw0rd` and `i love you 123` are all caught.
 *
 * Source: written for this project (issue #15), not copied from a published list. It holds the kind of entries that
 * top every published ranking of leaked passwords (words, names, keyboard walks, sports, "iloveyou"), their common
 * Vietnamese counterparts, and this platform's own names and placeholders (`mytho`, `change-me-admin-password` of
 * .env.example), so a placeholder can never become a real operator password. Pure sequences and keyboard rows
 * (`123456789012`, `qwertyuiop12`) are refused by a rule of their own and need not be listed. Keep it short: it
 * ships in the schema package, which the map's bundle may import.
 */
export const COMMON_PASSWORDS: readonly string[] = `
password passw0rd password1 mypassword passwordpassword secret topsecret letmein letmeinplease welcome welcome1
welcomehome admin administrator admin123 root toor superuser sysadmin webadmin changeme changeit changemenow
changemeadminpassword default guest test tester testing demo sample login master masterkey access accessdenied
qwerty qwertz azerty qazwsx zaq12wsx 1qaz2wsx 1q2w3e4r qweasdzxc asdfgh zxcvbn abc123 abcd1234 trustno1 iloveyou
iloveyoutoo iloveyouforever ilovemyfamily ilovemymom ilovegod loveyou lovely lover loveme monkey dragon shadow
sunshine princess football baseball basketball soccer hockey tennis golfer superman batman spiderman starwars
pokemon minecraft fortnite whatever freedom forever nothing something anything computer internet samsung google
facebook youtube linkedin microsoft apple iphone android windows hello helloworld hellokitty michael jennifer
jessica ashley charlie thomas daniel matthew jordan hunter ranger buster harley tigger ginger pepper maggie summer
winter autumn spring flower orange banana cookie chocolate cheese coffee purple yellow silver golden diamond
mustang ferrari porsche corvette yankees dallas austin chelsea liverpool arsenal barcelona realmadrid juventus
manchester killer biteme matrix thunder soldier warrior knight wizard phoenix cowboy hunter2
blink182 qwerty123 password123 football1 princess1 sunshine1 letmein1 monkey1 dragon1 baseball1 charlie1
starwars1 iloveyou1 anhyeuem emyeuanh anhyeuemnhieu yeuemnhieu yeuanh matkhau matkhaumoi matkhaucuatoi
vietnam vietnamese hanoi saigon hochiminh danang mekong tiengiang mytho mythocity thanhpho thongminh
baomat quantri quantrivien xinchao tambiet khongbiet giadinh hanhphuc conyeu emoi anhoi
telemetry smartcity sensor gateway operator viewer dashboard monitor station citylab mqttbroker influxdb
grafana raspberry arduino ubuntu debian linux server database postgres mysql oracle redis docker kubernetes
company business office manager support service backup private public secure security mysecret noaccess
letmeinnow openup opensesame sesame goaway cocacola pepsi marlboro
starbucks whiskey vodka beer party happy happiness smile sunflower rainbow butterfly angel angels heaven
jesus christ blessed family friends friend bestfriend mother father mommy daddy baby babygirl babyboy
sweetheart honey sweety cutie beautiful pretty handsome lucky lucky7 chance destiny eternity infinity
`
  .split(/\s+/)
  .filter((w) => w !== '')
