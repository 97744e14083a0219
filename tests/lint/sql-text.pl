#!/usr/bin/perl
# sql-text.pl FILE... - list every C string literal that builds SQL text from
# a string value with printf-style formatting (%s, %.*s, %-10s ...): in lib/
# SQL is built only by gm_sqlf() (lib/sqltext.c), whose conversions quote.
# Prints "FILE:LINE: TEXT" per finding; exits 1 when there is one.
use strict;
use warnings;

my $verb = qr{
	(?: (?:create|drop|alter) \s+ (?:or \s+ replace \s+)? (?:unique \s+)?
	    (?:database|role|group|user|table|index|function|procedure|schema|extension|view|trigger|type|sequence|policy|rule|operator|aggregate) \b
	  | select \s | insert \s+ into \b | update \s+ \S+ \s+ set \b | delete \s+ from \b
	  | grant \s | revoke \s | reindex \s | comment \s+ on \s | copy \s | truncate \s | vacuum \b | analyze \s
	  | lock \s+ table \b | (?:set|reset) \s+ (?:session|role|local \s) | set \s+ \w+ \s+ (?:to|=) \s
	  | do \s+ \$ | execute \s | call \s | notify \s | listen \s | with \s+ \w+ \s+ as \s* \(
	)
}xi;

my $found = 0;
for my $file (@ARGV) {
	open(my $fh, '<', $file) or die "$file: $!\n";
	local $/;
	my $src = <$fh>;
	close($fh);
	# comments out, lines kept
	$src =~ s{/\*.*?\*/}{my $c = $&; $c =~ s/[^\n]//g; $c}gse;
	$src =~ s{//[^\n]*}{}g;
	# every run of adjacent string literals, as one text
	while ($src =~ m{((?:"(?:[^"\\\n]|\\.)*"\s*)+)}g) {
		my ($lit, $pos) = ($1, $-[1]);
		my $text = join('', $lit =~ m{"((?:[^"\\\n]|\\.)*)"}g);
		next unless $text =~ /%[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?s/;
		my $t = $text;
		$t =~ s/\\[nt]/ /g;
		next unless $t =~ /^\s*(?:--[^\n]*\s+)*$verb/;
		my $line = 1 + (substr($src, 0, $pos) =~ tr/\n//);
		print "$file:$line: $text\n";
		$found++;
	}
}
exit($found ? 1 : 0);
